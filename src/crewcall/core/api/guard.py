"""Refuses NUL bytes anywhere in an API request's query string, before any handler.

PostgreSQL cannot store or compare text with NUL; each query parameter would otherwise
need its own pattern. Bodies are checked by the input models (core/api/inputs.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from crewcall.core.api.problems import ApiProblem, problem_response


class NulGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path.startswith(settings.API_PREFIX)
            and "%00" in request.META.get("QUERY_STRING", "").lower()
        ):
            bad = sorted({name for name, values in request.GET.lists() if any("\x00" in v for v in values)})
            bad = bad or sorted(name for name in request.GET if "\x00" in name) or ["__all__"]
            return problem_response(
                request,
                ApiProblem(
                    422,
                    "validation_failed",
                    "Query parameters cannot contain NUL bytes.",
                    errors={name.replace("\x00", "\\0"): ["NUL bytes are not allowed."] for name in bad},
                ),
            )
        return self.get_response(request)
