"""Writes to user accounts, one function per use case (see crewcall.core.transactions)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.accounts.models import ApiToken, User
from crewcall.accounts.tokens import display_prefix, new_secret, secret_hash
from crewcall.core.context import current_context
from crewcall.core.errors import RuleViolation, ValidationFailed
from crewcall.core.transactions import service
from crewcall.core.validation import require_text
from crewcall.core.versioning import get_or_not_found, lock_current, update_versioned


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
        raise ValidationFailed.single(
            "role",
            _("%(value)s is not a role (%(roles)s).")
            % {"value": repr(role), "roles": ", ".join(User.Role.values)},
        )
    return role


@service
def user_create(
    *,
    actor: User | None,
    username: str,
    role: str,
    email: str = "",
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """A new account; without a password it cannot sign in until one is set (tokens still work)."""
    username = _username_checked(username)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed.single("username", _("This username is taken."))
    user = User(
        username=username,
        email=_email_checked(email),
        first_name=_name_checked("first_name", first_name),
        last_name=_name_checked("last_name", last_name),
        role=_role_checked(role),
        is_staff=role == "admin",
    )
    if password:
        _password_checked(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.refresh_version()
    return user


def _username_checked(username: str) -> str:
    username = require_text("username", username, max_length=150)
    try:
        User.username_validator(username)
    except DjangoValidationError:
        raise ValidationFailed.single(
            "username", _("Letters, digits and @ . + - _ only, without spaces.")
        ) from None
    return username


def _email_checked(email: str) -> str:
    email = email.strip()
    if not email:
        return ""
    if len(email) > 254 or "\x00" in email:
        raise ValidationFailed.single("email", _("This is not an email address."))
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed.single("email", _("This is not an email address.")) from None
    return email


def _name_checked(field: str, value: str) -> str:
    value = value.strip()
    if len(value) > 150 or "\x00" in value:
        raise ValidationFailed.single(field, _("At most 150 characters, without NUL."))
    return value


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
    """Edit an account's role, state and contact fields (the version read is checked)."""
    changes = dict(changes)
    unknown = sorted(set(changes) - USER_EDITABLE)
    if unknown:
        raise ValidationFailed({name: [_("This field cannot be changed here.")] for name in unknown})
    if "role" in changes:
        _role_checked(changes["role"])
        changes["is_staff"] = changes["role"] == "admin"
    if "email" in changes:
        changes["email"] = _email_checked(changes["email"])
    for name in ("first_name", "last_name"):
        if name in changes:
            changes[name] = _name_checked(name, changes[name])
    if actor is not None and actor.pk == user_id:
        # Nobody locks themselves out: another admin must demote or deactivate an admin.
        if changes.get("is_active") is False:
            raise ValidationFailed.single("is_active", _("You cannot deactivate your own account."))
        if "role" in changes and changes["role"] != actor.role:
            raise ValidationFailed.single("role", _("You cannot change your own role."))
    return update_versioned(User, pk=user_id, expected_version=expected_version, values=changes)


@service
def user_set_password(
    *, actor: User | None, user_id: int, expected_version: int | None, password: str
) -> User:
    """An admin gives an account a password (checked by the password rules), so its person
    can sign in; the account's other sessions end (Django ties them to the old password)."""
    user = lock_current(User, pk=user_id, expected_version=expected_version)
    _password_checked(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    user.refresh_from_db(fields=["version"])
    return user


@service
def token_create(*, actor: User | None, user_id: int, name: str) -> NewToken:
    """A new API token for a user; the secret exists only in the answer, never in storage."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise ValidationFailed.single("user_id", _("There is no user %(id)s.") % {"id": user_id})
    if not user.is_active:
        raise ValidationFailed.single("user_id", _("This account is deactivated."))
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
    """Revoke for good (idempotent: revoking a revoked token changes nothing). Not the
    token the request itself is made with: a caller would lock itself out mid-way (as an
    admin cannot deactivate themselves); another credential revokes it."""
    if current_context().token_id == token_id:
        raise RuleViolation(
            field="token_id",
            message=_("This request is made with this token: revoke it with another token or signed in."),
            constraint="accounts_apitoken__own_token",
        )
    token = get_or_not_found(ApiToken, pk=token_id, lock=True)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
