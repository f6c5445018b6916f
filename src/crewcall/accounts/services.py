"""Writes to user accounts, one function per use case (see crewcall.core.transactions)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.utils import timezone

from crewcall.accounts.models import ApiToken, User
from crewcall.accounts.tokens import display_prefix, new_secret, secret_hash
from crewcall.core.errors import ValidationFailed
from crewcall.core.transactions import service
from crewcall.core.versioning import get_or_not_found, update_versioned
from crewcall.people.validation import require_text


@dataclass(frozen=True)
class NewAdmin:
    user: User
    password: str


@service
def admin_ensure_first(*, actor: User | None = None) -> NewAdmin | None:
    """Create the first admin (random password) when no superuser exists, else None.

    An advisory lock makes two processes starting at once agree on one admin.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('crewcall.admin_ensure_first'))")
    if User.objects.filter(is_superuser=True).exists():
        return None
    username = "admin"
    if User.objects.filter(username=username).exists():
        username = f"admin-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    user = User.objects.create_superuser(username=username, email="", password=password, role=User.Role.ADMIN)
    return NewAdmin(user=user, password=password)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str


def _role_checked(role: str) -> str:
    if role not in User.Role.values:
        raise ValidationFailed.single("role", f"{role!r} is not a role ({', '.join(User.Role.values)}).")
    return role


@service
def user_create(
    *, actor: User | None, username: str, role: str, email: str = "", password: str | None = None
) -> User:
    """A new account; without a password it cannot sign in until one is set (tokens still work)."""
    username = require_text("username", username, max_length=150)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed.single("username", "This username is taken.")
    user = User(username=username, email=email, role=_role_checked(role), is_staff=role == "admin")
    if password:
        _password_checked(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.refresh_version()
    return user


def _password_checked(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed({"password": list(exc.messages)}) from None


USER_EDITABLE = {"email", "role", "is_active", "first_name", "last_name"}


@service
def user_update(
    *, actor: User | None, user_id: int, expected_version: int | None, changes: dict[str, Any]
) -> User:
    changes = dict(changes)
    if "role" in changes:
        _role_checked(changes["role"])
        changes["is_staff"] = changes["role"] == "admin"
    if (
        actor is not None
        and actor.pk == user_id
        and (changes.get("is_active") is False or changes.get("role", "admin") != "admin")
    ):
        # Nobody locks themselves out: another admin must demote or deactivate an admin.
        raise ValidationFailed.single("role", "You cannot demote or deactivate your own account.")
    unknown = sorted(set(changes) - USER_EDITABLE - {"is_staff"})
    if unknown:
        raise ValidationFailed({name: ["This field cannot be changed here."] for name in unknown})
    return update_versioned(User, pk=user_id, expected_version=expected_version, values=changes)


@service
def token_create(*, actor: User | None, user_id: int, name: str) -> NewToken:
    """A new API token for a user; the secret exists only in the answer, never in storage."""
    user = get_or_not_found(User, pk=user_id)
    if not user.is_active:
        raise ValidationFailed.single("user", "This account is deactivated.")
    secret = new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=require_text("name", name, max_length=80),
        prefix=display_prefix(secret),
        secret_hash=secret_hash(secret),
        created_by=actor,
    )
    token.refresh_from_db()
    return NewToken(token=token, secret=secret)


@service
def token_revoke(*, actor: User | None, token_id: int) -> ApiToken:
    """Revoke for good (idempotent: revoking a revoked token changes nothing)."""
    token = get_or_not_found(ApiToken, pk=token_id, lock=True)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
