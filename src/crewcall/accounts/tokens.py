"""API token secrets: made, hashed and looked up here; written by accounts.services."""

from __future__ import annotations

import functools
import hashlib
import secrets

from django.db import connection
from django.utils import timezone

from crewcall.accounts.models import User
from crewcall.core.read_only import after_read_only

PREFIX = "cc_"
# last_used_at is recorded at most this often per token: a read must not cost a write each time.
LAST_USED_EVERY_S = 60


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[: len(PREFIX) + 6]


_USER_COLUMNS = [f.column for f in User._meta.concrete_fields]
_USER_ATTNAMES = [f.attname for f in User._meta.concrete_fields]
# Plain SQL: this runs on every API request, and compiling the ORM query cost more
# than running it.
_LOOKUP = (
    "SELECT t.id, t.last_used_at, "  # noqa: S608 (column names from the model)
    + ", ".join(f'u."{c}"' for c in _USER_COLUMNS)
    + " FROM accounts_apitoken t JOIN accounts_user u ON u.id = t.user_id"
    " WHERE t.secret_hash = %s AND t.revoked_at IS NULL AND u.is_active"
)


def user_for_token(secret: str) -> tuple[User, int] | None:
    """The active user of a live token and the token's id, or None; notes the use."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_LOOKUP, [secret_hash(secret)])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, used = row[0], row[1]
    user = User.from_db(connection.alias, _USER_ATTNAMES, row[2:])
    if used is None or (timezone.now() - used).total_seconds() >= LAST_USED_EVERY_S:
        # A read's transaction is read-only (core/read_only.py): noted after it ends.
        after_read_only(functools.partial(_note_use, token_id))
    return user, token_id


def _note_use(token_id: int) -> None:
    # Conditional: at most one write per token a minute, however busy it is (and however
    # many times one request looked the token up).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_apitoken SET last_used_at = now() WHERE id = %s AND "
            "(last_used_at IS NULL OR last_used_at < now() - make_interval(secs => %s))",
            [token_id, LAST_USED_EVERY_S],
        )
