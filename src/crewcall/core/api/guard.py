"""Refuses, before any handler, what no API operation can take: a body larger than
API_MAX_BODY_BYTES (413, unread), and NUL bytes anywhere in the query string (422).

PostgreSQL cannot store or compare text with NUL; each query parameter would otherwise
need its own pattern. Bodies are checked by the input models (core/api/inputs.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from crewcall.core.api.problems import ApiProblem, problem_response


def _too_large(request: HttpRequest) -> bool:
    length = request.META.get("CONTENT_LENGTH") or "0"
    return length.isdigit() and int(length) > settings.API_MAX_BODY_BYTES


def _nul_parameters(request: HttpRequest) -> list[str]:
    if "%00" not in request.META.get("QUERY_STRING", "").lower():
        return []
    bad = sorted({name for name, values in request.GET.lists() if any("\x00" in v for v in values)})
    return bad or sorted(name for name in request.GET if "\x00" in name) or ["__all__"]


class ApiGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(settings.API_PREFIX):
            return self.get_response(request)
        if _too_large(request):
            limit = settings.API_MAX_BODY_BYTES // (1024 * 1024)
            problem = ApiProblem(413, "body_too_large", f"Request bodies are at most {limit} MB.")
            return problem_response(request, problem)
        if bad := _nul_parameters(request):
            problem = ApiProblem(
                422,
                "validation_failed",
                "Query parameters cannot contain NUL bytes.",
                errors={name.replace("\x00", "\\0"): ["NUL bytes are not allowed."] for name in bad},
            )
            return problem_response(request, problem)
        return self.get_response(request)
