"""Shared test fixtures: a cast of personas and a small agency to work with.

Alice is the admin, Bob a dispatcher (the actor of the `agency` fixture). Every test that touches data runs
on real PostgreSQL (the embedded server, or DATABASE_URL's).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import settings as hypothesis_settings

from crewcall.accounts.models import User

# CI explores a fixed set of examples, so a red run can be reproduced exactly; local runs
# keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture
def alice(db: Any) -> User:
    return User.objects.create_user("alice", password="x", role="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def bob(db: Any) -> User:
    return User.objects.create_user("bob", password="x", role="dispatcher", is_staff=True)


@pytest.fixture
def as_bob(client: Client, bob: User) -> Client:
    """The test client, signed in as Bob."""
    client.force_login(bob)
    return client


class Agency:
    """Builds data through the services, as the product does."""

    def __init__(self, actor: User) -> None:
        from crewcall.people import services as people

        self.actor = actor
        self.bartender = people.role_create(actor=actor, key="bartender", name="Bartender")
        self.waiter = people.role_create(actor=actor, key="waiter", name="Waiter")
        self.cook = people.role_create(actor=actor, key="cook", name="Cook")
        self._phone = 15100000000

    def employee(self, name: str = "Emil", role: Any = None, **kw: Any) -> Any:
        from crewcall.people.services import employee_create

        self._phone += 1
        return employee_create(
            actor=self.actor,
            name=name,
            phone_number=kw.pop("phone_number", f"+49{self._phone}"),
            primary_role=role or self.bartender,
            employment_type=kw.pop("employment_type", "part_time"),
            **kw,
        )

    def event(self, title: str = "Gala", status: str = "recruiting", **kw: Any) -> Any:
        from crewcall.events.services import event_create
        from crewcall.staffing.event_lifecycle import event_transition

        event = event_create(
            actor=self.actor,
            title=title,
            event_date=kw.pop("event_date", timezone.localdate() + timedelta(days=10)),
            start_time=kw.pop("start_time", time(18, 0)),
            end_time=kw.pop("end_time", time(23, 0)),
            hourly_rate=kw.pop("hourly_rate", Decimal("15.50")),
            employees_needed=kw.pop("employees_needed", 2),
            employees_to_ask=kw.pop("employees_to_ask", 4),
            **kw,
        )
        path = {"draft": [], "recruiting": ["recruiting"], "staffed": ["recruiting", "staffed"]}
        for step in path.get(status, [status]):
            event = event_transition(
                actor=self.actor, event_id=event.pk, expected_version=event.version, to_status=step
            )
        return event

    def area(self, event: Any, name: str = "Bar", capacity: int = 3, **kw: Any) -> Any:
        from crewcall.events.services import work_area_create

        return work_area_create(actor=self.actor, event_id=event.pk, name=name, max_capacity=capacity, **kw)

    def accepted(self, event: Any, employee: Any) -> Any:
        from crewcall.staffing.services import invitation_create, invitation_set_status

        inv = invitation_create(actor=self.actor, event_id=event.pk, employee_id=employee.pk)
        return invitation_set_status(
            actor=self.actor, invitation_id=inv.pk, expected_version=inv.version, status="accepted"
        )


@pytest.fixture
def agency(bob: User) -> Agency:
    return Agency(bob)


@pytest.fixture
def carol(db: Any) -> User:
    """A viewer: reads everything, changes nothing."""
    return User.objects.create_user("carol", password="x", role="viewer")


@pytest.fixture
def oscar(db: Any) -> User:
    """An outsider: an employee's own account, with no business in the agency's data."""
    return User.objects.create_user("oscar", password="x", role="employee")


@pytest.fixture
def api_as(db: Any) -> Any:
    """`api_as(user)`: an API client acting with a fresh token of `user`."""
    from crewcall.testing.api import Api, token_for

    return lambda user: Api(token=token_for(user))


@pytest.fixture(autouse=True)
def _no_change_hub_left_over() -> Iterator[None]:
    """A live server in this process (browser tests) starts a change hub in a request's
    event loop, which ends with the request: a later test must not find that dead hub
    and read it as this process's hub having stopped."""
    yield
    from crewcall.changes import hub

    hub._hubs.clear()


@pytest.fixture
def frozen_buckets(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every rate limit's bucket reads a standing clock for the test: move its `now` to
    refill them."""
    from crewcall.core.api import throttle
    from crewcall.testing.clock import FrozenClock

    clock = FrozenClock()
    monkeypatch.setattr(throttle, "time", clock)
    return clock


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    from crewcall.accounts import login_limits
    from crewcall.api import bucket as api_bucket
    from crewcall.core.api.guard import unauthenticated

    api_bucket.reset()
    login_limits.bucket.reset()
    unauthenticated.reset()


# The application runs as the runtime role in tests, as in production (core/roles.py):
# the test databases are made and dropped by the owner (migrations, then the grants), the
# tests run as the runtime role, and so does everything they start.


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> Iterator[None]:
    """Runs before pytest-django makes the test databases and is torn down after it drops
    them: the owner does both."""
    from crewcall.core.roles import become_owner

    become_owner()
    yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Between making and dropping the test databases, the runtime role."""
    from crewcall.core.roles import become_owner, become_runtime

    with django_db_blocker.unblock():
        become_runtime()
    yield
    with django_db_blocker.unblock():
        become_owner()


# Rows a flush keeps: what migrating made and every test may rely on, the same before and
# after any test (a test never adds a model or a permission).
KEPT_BY_FLUSH = frozenset({"django_content_type", "auth_permission", "django_migrations"})


def flush_tables(alias: str) -> None:
    """Empty every table a test wrote to, in one TRUNCATE. Django's flush truncates all
    tables and then re-creates the content types and permissions by emitting post_migrate
    (two thirds of its 0.4 s); here the tables that are empty already, and those two, are
    left alone."""
    from django.db import connections

    conn = connections[alias]
    names = conn.introspection.django_table_names(only_existing=True, include_views=False)
    tables = sorted(set(names) - KEPT_BY_FLUSH)
    quote = conn.ops.quote_name
    probe = " UNION ALL ".join(
        f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {quote(t)})"  # noqa: S608 - the models' tables
        for i, t in enumerate(tables)
    )
    with conn.cursor() as cur:
        cur.execute(probe)
        written = [tables[i] for (i,) in cur.fetchall()]
        if written:
            # CASCADE: a table that refers to one of these is emptied with it (it can only
            # be empty already or written to as well).
            cur.execute(f"TRUNCATE {', '.join(quote(t) for t in written)} CASCADE")


def _flush_as_owner() -> None:
    """A transactional test ends with a flush, a TRUNCATE of the tables it wrote to,
    history included, and one with `reset_sequences` starts by setting sequences back:
    neither is the runtime role's right, so the owner does both."""
    from django.test import TransactionTestCase

    from crewcall.core.roles import as_owner

    reset = TransactionTestCase._reset_sequences  # type: ignore[attr-defined]

    def _fixture_teardown(self: TransactionTestCase) -> None:
        for alias in self._databases_names(include_mirrors=False):  # type: ignore[attr-defined]
            with as_owner(alias):
                flush_tables(alias)

    def _reset_sequences(db_name: str) -> None:  # a staticmethod in Django
        with as_owner(db_name):
            reset(db_name)

    TransactionTestCase._fixture_teardown = _fixture_teardown  # type: ignore[attr-defined]
    TransactionTestCase._reset_sequences = staticmethod(_reset_sequences)  # type: ignore[attr-defined]


_flush_as_owner()
