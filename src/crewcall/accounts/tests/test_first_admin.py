from __future__ import annotations

from typing import Any

from crewcall.accounts.models import User
from crewcall.accounts.services import admin_ensure_first


def test_it_creates_one_admin_with_a_password_that_works(db: Any) -> None:
    created = admin_ensure_first()

    assert created is not None
    user = User.objects.get()
    assert (user.username, user.role, user.is_staff, user.is_superuser) == ("admin", "admin", True, True)
    assert user.check_password(created.password)
    assert len(created.password) >= 16


def test_it_does_nothing_when_a_superuser_exists(alice: User) -> None:
    assert admin_ensure_first() is None
    assert User.objects.count() == 1


def test_it_picks_another_name_when_admin_is_taken_by_someone_else(db: Any) -> None:
    User.objects.create_user("admin", password="x", role="viewer")

    created = admin_ensure_first()

    assert created is not None
    assert created.user.username.startswith("admin-")
    assert created.user.is_superuser
