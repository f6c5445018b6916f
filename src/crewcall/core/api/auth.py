"""Who is calling and what their role lets them do, on every API operation.

Two ways in: an API token (`Authorization: Bearer <token>`) for scripts and integrators,
or the browser's session cookie (then unsafe methods need the CSRF token, as in forms).
Roles nest (admin ⊇ dispatcher ⊇ viewer); an employee's own account gets nothing here.
`allow("dispatcher")` is the `auth=` of an operation: no credentials → 401, a known
caller without the role → 403. Tokens are looked up by what accounts registered
(core/token_auth.py); the caller is accounts' `User`, typed `Any` here because the kernel
does not import accounts.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from crewcall.core.context import note_api_token
from crewcall.core.token_auth import token_of_request

ROLES = ("viewer", "dispatcher", "admin")


def _checked(user: Any, role: str) -> Any:
    if not user.has_role(role):
        raise AuthorizationError(message=f"This needs the {role} role; you are {user.role}.")
    return user


class TokenRole(HttpBearer):
    openapi_name = "token"

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = token_of_request(request)  # the header's token, looked up once per request
        if found is None:
            return None
        user, token_id = found
        request.api_token_id = token_id  # type: ignore[attr-defined]
        note_api_token(token_id)
        return _checked(user, self.role)


class SessionRole(SessionAuth):
    openapi_name = "session"

    def __init__(self, role: str) -> None:
        super().__init__(csrf=True)
        self.role = role

    def __call__(self, request: HttpRequest) -> Any:
        # No session cookie, no session: "not signed in" (401), not a CSRF failure.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated:
            return None
        return _checked(user, self.role)


@functools.cache
def allow(role: str) -> list[Any]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return [TokenRole(role), SessionRole(role)]


def actor(request: HttpRequest) -> Any:
    """The authenticated user of an API request (set by `allow`): an accounts `User`."""
    return request.auth  # type: ignore[attr-defined]
