"""Writes to user accounts, one function per use case (see crewcall.core.transactions)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import connection

from crewcall.accounts.models import User
from crewcall.core.transactions import service


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
