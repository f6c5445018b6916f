"""API token secrets: made, hashed and looked up here; written by accounts.services."""

from __future__ import annotations

import hashlib
import secrets

from django.db import connection
from django.utils import timezone

from crewcall.accounts.models import ApiToken, User

PREFIX = "cc_"
# last_used_at is recorded at most this often per token: a read must not cost a write each time.
LAST_USED_EVERY_S = 60


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[: len(PREFIX) + 6]


def user_for_token(secret: str) -> tuple[User, int] | None:
    """The active user of a live token and the token's id, or None; notes the use."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(secret_hash=secret_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .only("id", "last_used_at", "user")
        .first()
    )
    if token is None:
        return None
    used = token.last_used_at
    if used is None or (timezone.now() - used).total_seconds() >= LAST_USED_EVERY_S:
        _note_use(token.pk)
    return token.user, token.pk


def _note_use(token_id: int) -> None:
    # Autocommit, conditional: at most one write per token a minute, however busy it is.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_apitoken SET last_used_at = now() WHERE id = %s AND "
            "(last_used_at IS NULL OR last_used_at < now() - make_interval(secs => %s))",
            [token_id, LAST_USED_EVERY_S],
        )
