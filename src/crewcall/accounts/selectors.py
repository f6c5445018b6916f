"""Reads for user accounts."""

from __future__ import annotations

from django.db.models import QuerySet

from crewcall.accounts.models import User


def users_with_role(*, role: str) -> QuerySet[User]:
    return User.objects.filter(role=role, is_active=True).order_by("username")
