"""Sets the request context (source and request id) for every HTTP request.

It also opens a history context for the request, so a change made outside a service
(the Django admin's own forms) is still recorded with its actor, source and request id.
Services add their own, more precise context (the use case) on top.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pghistory
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

from crewcall.core.context import Source, new_request_id, request_context
from crewcall.core.token_auth import caller_authenticated

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def source_for_path(path: str) -> Source:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/webhooks/"):
        return "webhook"
    return "web"


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else new_request_id()
        source = source_for_path(request.path)
        with request_context(source=source, request_id=request_id):
            request.request_id = request_id  # type: ignore[attr-defined]
            if request.method in SAFE_METHODS:
                # Reads write no history: no history context (pghistory would add a
                # set_config() to every statement of the request).
                response = self.get_response(request)
            else:
                # Only a request with a session can have a user here (API tokens are
                # checked later; the services record that actor themselves).
                user = (
                    getattr(request, "user", None)
                    if settings.SESSION_COOKIE_NAME in request.COOKIES
                    else None
                )
                user_id = user.pk if user is not None and user.is_authenticated else None
                with pghistory.context(user=user_id, source=source, request_id=request_id):
                    response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class ResponseHeadersMiddleware:
    """Permissions-Policy on every answer, and `Cache-Control: private, no-store` on every
    answer to an authenticated caller (a signed-in user or a live API token): what one
    user saw is kept by no shared cache and by no browser history after they sign out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if caller_authenticated(request):
            patch_cache_control(response, private=True, no_store=True)
        return response
