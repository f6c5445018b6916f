"""Refuses, before any handler, what no API operation can take: a body larger than
API_MAX_BODY_BYTES (413, unread), more query parameters than Django parses
(DATA_UPLOAD_MAX_NUMBER_FIELDS) or NUL bytes anywhere in the query string (422), and
callers without valid credentials (a wrong, revoked or no token, no session) beyond
API_UNAUTHENTICATED_PER_MINUTE per address (429): guessing tokens is slow, and nothing
after this (an Idempotency-Key claim, say) is written for them.

PostgreSQL cannot store or compare text with NUL; each query parameter would otherwise
need its own pattern. Bodies are checked by the input models (core/api/inputs.py)."""

from __future__ import annotations

import math
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from crewcall.core.api.problems import ApiProblem, problem_response
from crewcall.core.api.throttle import TokenBucket, client_ip
from crewcall.core.token_auth import caller_authenticated

unauthenticated = TokenBucket(
    per_minute=settings.API_UNAUTHENTICATED_PER_MINUTE, burst=settings.API_UNAUTHENTICATED_PER_MINUTE
)


def _too_large(request: HttpRequest) -> bool:
    length = request.META.get("CONTENT_LENGTH") or "0"
    return length.isdigit() and int(length) > settings.API_MAX_BODY_BYTES


def _too_many_parameters(request: HttpRequest) -> bool:
    # Counted as Django's QueryDict counts them (1 + the "&"s); reading request.GET past the
    # limit raises TooManyFieldsSent, which inside an API operation was a 500.
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return limit is not None and 1 + request.META.get("QUERY_STRING", "").count("&") > limit


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
        if _too_many_parameters(request):
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            problem = ApiProblem(
                422,
                "validation_failed",
                f"At most {limit} query parameters.",
                errors={"query": [f"At most {limit} parameters."]},
            )
            return problem_response(request, problem)
        if bad := _nul_parameters(request):
            problem = ApiProblem(
                422,
                "validation_failed",
                "Query parameters cannot contain NUL bytes.",
                errors={name.replace("\x00", "\\0"): ["NUL bytes are not allowed."] for name in bad},
            )
            return problem_response(request, problem)
        if not caller_authenticated(request) and (wait := unauthenticated.take(client_ip(request))):
            seconds = max(1, math.ceil(wait))
            problem = ApiProblem(
                429,
                "rate_limited",
                f"Too many requests without valid credentials; try again in {seconds} s.",
                headers={"Retry-After": str(seconds)},
            )
            return problem_response(request, problem)
        return self.get_response(request)
