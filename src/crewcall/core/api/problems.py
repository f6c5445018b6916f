"""RFC 9457 problem details: every error the API gives, in one shape.

`{"type", "title", "status", "detail", "code", "request_id", "errors"?, "current"?}`:
`code` is stable (clients branch on it, never on the wording), `errors` names every
field at fault, `current` carries the current representation on a 412.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError
from pydantic import BaseModel, ConfigDict

from crewcall.core.errors import CrewcallError, ValidationFailed, VersionConflict
from crewcall.core.unavailable import RETRY_AFTER_S, unavailable_code

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "https://crewcall.invalid/problems/"
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Changed since you read it",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Version required",
    429: "Too many requests",
    500: "Server error",
    503: "Busy, try again",
}


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    errors: list[FieldError] | None = None
    current: dict[str, Any] | None = None


class ApiProblem(Exception):
    """An answer that is not the resource: raised anywhere in an API handler."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
        current: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.current = current
        self.headers = headers or {}


def problem_response(request: HttpRequest, problem: ApiProblem) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + problem.code,
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": str(problem.detail),  # a lazy translation becomes text for the JSON
        "code": problem.code,
        "request_id": getattr(request, "request_id", ""),
    }
    if problem.errors:
        body["errors"] = [
            {"field": field, "message": str(message)}
            for field, messages in problem.errors.items()
            for message in messages
        ]
    if problem.current is not None:
        body["current"] = problem.current
    response = JsonResponse(body, status=problem.status, content_type="application/problem+json")
    for name, value in problem.headers.items():
        response[name] = value
    return response


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'payload', 'name') → 'name'; ('query', 'limit') → 'limit'."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        where, parts = parts[0], parts[1:]
        if where == "body" and parts and parts[0] == "payload":
            parts = parts[1:]
        if where == "header" and parts:
            return "header:" + parts[-1]
    return ".".join(parts) or "__all__"


def _message_of(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "Invalid value."))
    if error.get("type") == "extra_forbidden":
        return "Unknown field: not part of this resource."
    if error.get("type") == "missing":
        return "This field is required."
    return message.removeprefix("Value error, ")


def from_validation_error(exc: ValidationError) -> ApiProblem:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        errors.setdefault(_field_of(error.get("loc", ())), []).append(_message_of(error))
    if not errors:
        errors = {"__all__": ["The request could not be read."]}
    return ApiProblem(422, "validation_failed", "The request has invalid fields.", errors=errors)


def from_crewcall_error(exc: CrewcallError) -> ApiProblem:
    if isinstance(exc, ValidationFailed):
        return ApiProblem(exc.status, exc.code, exc.message, errors=exc.errors)
    if isinstance(exc, VersionConflict):
        # Handlers that can show the current representation raise their own ApiProblem.
        return ApiProblem(412, exc.code, exc.message)
    headers = {"Retry-After": "1"} if exc.status == 503 else None
    return ApiProblem(exc.status, exc.code, exc.message, headers=headers)


def unavailable_problem(code: str) -> ApiProblem:
    """The 503 for a database that cannot answer (core/unavailable.py); `Retry-After` says
    when to try again. Whether an interrupted write happened is for the retry to find out
    (with the same Idempotency-Key it is never applied twice)."""
    detail = (
        _("The database is too busy to answer right now. Try again in a few seconds.")
        if code == "busy"
        else _("The database cannot be reached right now. Try again in a few seconds.")
    )
    return ApiProblem(503, code, detail, headers={"Retry-After": str(RETRY_AFTER_S)})


def server_error_problem() -> ApiProblem:
    return ApiProblem(500, "server_error", "Something went wrong on our side; nothing was half-written.")


def install(api: Any) -> None:
    """Every exception an API handler can raise, answered as problem+json."""

    def on_problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
        return problem_response(request, exc)

    def on_crewcall(request: HttpRequest, exc: CrewcallError) -> HttpResponse:
        return problem_response(request, from_crewcall_error(exc))

    def on_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return problem_response(request, from_validation_error(exc))

    def on_http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc, AuthenticationError) or exc.status_code == 401:
            problem = ApiProblem(
                401,
                "not_authenticated",
                "Sign in, or send an API token as 'Authorization: Bearer <token>'.",
                headers={"WWW-Authenticate": 'Bearer realm="crewcall"'},
            )
        elif "CSRF" in str(exc):
            problem = ApiProblem(
                403,
                "csrf_failed",
                "Signed in by cookie: send the CSRF token (X-CSRFToken) with every change.",
            )
        elif isinstance(exc, AuthorizationError) or exc.status_code == 403:
            problem = ApiProblem(403, "forbidden", str(exc) or "Your role does not allow this.")
        elif isinstance(exc, Throttled):
            wait = max(1, int(exc.wait or 1))
            problem = ApiProblem(
                429,
                "rate_limited",
                f"Too many requests; try again in {wait} s.",
                headers={"Retry-After": str(wait)},
            )
        else:
            problem = ApiProblem(exc.status_code, f"http_{exc.status_code}", str(exc))
        return problem_response(request, problem)

    def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem_response(request, ApiProblem(404, "not_found", "There is nothing at this address."))

    def on_other(request: HttpRequest, exc: Exception) -> HttpResponse:
        if code := unavailable_code(exc):
            logger.warning("%s %s: database %s: %s", request.method, request.path, code, exc)
            return problem_response(request, unavailable_problem(code))
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return problem_response(request, server_error_problem())

    api.add_exception_handler(ApiProblem, on_problem)
    api.add_exception_handler(CrewcallError, on_crewcall)
    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(HttpError, on_http)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(Exception, on_other)


# Answers every operation can give, documented once (schemathesis holds us to them).
COMMON = {400, 401, 403, 413, 422, 429, 503}
ON_OBJECT = {404}
ON_WRITE = {409}
ON_VERSIONED_WRITE = {409, 412, 428}


def documented(ok: dict[int, Any], *extra: set[int]) -> dict[int, Any]:
    """The response map of an operation: its success answers plus every problem it can give."""
    codes = set(COMMON)
    for group in extra:
        codes |= group
    responses: dict[int, Any] = dict(ok)
    for code in sorted(codes):
        responses.setdefault(code, Problem)
    return responses


@csrf_exempt  # it changes nothing: a POST gets the same 404, not the CSRF failure page
def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any address under /api/ that no operation answers, with any method: a problem,
    not an HTML page."""
    return problem_response(request, ApiProblem(404, "not_found", "There is nothing at this address."))
