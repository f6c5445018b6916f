"""API token secrets: made, hashed and looked up here; written by accounts.services."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Collection

from django.db import connection
from django.utils import timezone

from crewcall.accounts.models import ROLE_RANK, User
from crewcall.core.read_only import after_read_only
from crewcall.core.token_auth import Credential

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


# Roles that may follow the change stream (User.has_role("viewer")).
READING_ROLES = [role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK["viewer"]]


def live_credentials_check(credentials: Collection[Credential]) -> set[Credential]:
    """The credentials that still authenticate (core/token_auth.py): three queries for
    any number of them, so one check serves every open stream of a process."""
    user_ids = sorted({c.user_id for c in credentials})
    token_ids = sorted({c.token_id for c in credentials if c.token_id is not None})
    session_keys = sorted({c.session_key for c in credentials if c.session_key is not None})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM accounts_user WHERE id = ANY(%s) AND is_active AND role = ANY(%s)",
            [user_ids, READING_ROLES],
        )
        users = {row[0] for row in cursor.fetchall()}
        tokens: set[int] = set()
        if token_ids:
            cursor.execute(
                "SELECT id FROM accounts_apitoken WHERE id = ANY(%s) AND revoked_at IS NULL", [token_ids]
            )
            tokens = {row[0] for row in cursor.fetchall()}
        sessions: set[str] = set()
        if session_keys:
            cursor.execute(
                "SELECT session_key FROM django_session WHERE session_key = ANY(%s) AND expire_date > now()",
                [session_keys],
            )
            sessions = {row[0] for row in cursor.fetchall()}
    return {
        c
        for c in credentials
        if c.user_id in users
        and (c.token_id is None or c.token_id in tokens)
        and (c.session_key is None or c.session_key in sessions)
    }
