"""Reads for user accounts and API tokens, each with a fixed number of queries."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from crewcall.accounts.models import ApiToken, User


def users_with_role(*, role: str) -> QuerySet[User]:
    return User.objects.filter(role=role, is_active=True).order_by("username")


def user_filter(*, search: str = "", role: str | None = None, active: bool | None = None) -> QuerySet[User]:
    """Accounts for an API list (one query per page)."""
    qs = User.objects.all()
    if search:
        qs = qs.filter(
            Q(username__icontains=search)
            | Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    if role:
        qs = qs.filter(role=role)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def user_detail(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id).first()


def user_by_username(*, username: str) -> User | None:
    return User.objects.filter(username=username).first()


def token_filter(*, user_id: int | None = None, revoked: bool | None = None) -> QuerySet[ApiToken]:
    """Tokens with their user (one query per page); never hands out the hash."""
    qs = ApiToken.objects.select_related("user").defer("secret_hash")
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    if revoked is not None:
        qs = qs.filter(revoked_at__isnull=not revoked)
    return qs


def token_detail(*, token_id: int) -> ApiToken | None:
    return token_filter().filter(pk=token_id).first()
