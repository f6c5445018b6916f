"""Who owns an API token: the one question about tokens the kernel and the change feed ask.

Tokens and users belong to accounts, which sits above the kernel; so the kernel does not
look tokens up itself. Accounts registers its lookup when the app is ready
(`AccountsConfig.ready` calls `register_token_authenticator`); the API's `TokenRole`, the
read-only middleware and the change stream call `user_for_token`. Asking before anything
is registered is a wiring mistake and raises, rather than treating every token as unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# secret -> (the active user who owns the live token, the token's id), or None.
TokenAuthenticator = Callable[[str], tuple[Any, int] | None]

_authenticator: TokenAuthenticator | None = None


@dataclass(frozen=True)
class Credential:
    """What a long-lived answer (a change stream) was authenticated with: an API token,
    or a session; either way its user."""

    user_id: int
    token_id: int | None = None
    session_key: str | None = None


# The credentials among those given that still authenticate their user.
CredentialCheck = Callable[[Collection[Credential]], set[Credential]]
_credential_check: CredentialCheck | None = None


def register_credential_check(check: CredentialCheck) -> None:
    global _credential_check
    _credential_check = check


def live_credentials(credentials: Collection[Credential]) -> set[Credential]:
    """Those of `credentials` whose token is not revoked, whose session has not ended,
    and whose user is active and still has a role that reads."""
    if _credential_check is None:
        raise ImproperlyConfigured(
            "No credential check is registered: crewcall.accounts must be in INSTALLED_APPS "
            "(AccountsConfig.ready registers it)."
        )
    return _credential_check(credentials) if credentials else set()


def register_token_authenticator(authenticator: TokenAuthenticator) -> None:
    """Make `authenticator` the token lookup (once per process; the last call wins)."""
    global _authenticator
    _authenticator = authenticator


def user_for_token(secret: str) -> tuple[Any, int] | None:
    """The active user of a live token and the token's id, or None."""
    if _authenticator is None:
        raise ImproperlyConfigured(
            "No API token authenticator is registered: crewcall.accounts must be in INSTALLED_APPS "
            "(AccountsConfig.ready registers it)."
        )
    return _authenticator(secret)


def bearer_secret(request: Any) -> str | None:
    """The secret of an `Authorization: Bearer …` header (the scheme in any case, as the
    API's auth reads it), or None."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() or None if scheme.lower() == "bearer" else None


def token_of_request(request: Any) -> tuple[Any, int] | None:
    """`user_for_token` of the request's bearer token, looked up once per request (the
    guard, idempotency, the read-only choice and the API's auth all ask)."""
    secret = bearer_secret(request)
    if secret is None:
        return None
    cached = getattr(request, "_crewcall_token", None)
    if cached is not None and cached[0] == secret:
        return cached[1]
    found = user_for_token(secret)
    request._crewcall_token = (secret, found)
    return found


def caller_authenticated(request: Any) -> bool:
    """A live API token of an active user, or else a signed-in user."""
    if bearer_secret(request) is not None:
        return token_of_request(request) is not None
    user = getattr(request, "user", None)
    return user is not None and bool(user.is_authenticated)
