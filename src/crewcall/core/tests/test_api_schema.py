"""schemathesis over the whole /api/v1 schema, in process, on the real database.

Every check schemathesis has, configured by the repository's schemathesis.toml (what a
schema-valid request may still meet: 404, 409, 412, 428 and the 422s of rules the
schema cannot state) and its hook check `schema_valid_requests_fit` (never a 400 or a 422
`validation_failed` for a schema-valid request). Every operation gets generated requests,
valid and invalid, as an admin and as a viewer; then the stateful phase follows the
schema's links from answer to call. No answer may be a server error, break its
documented schema, use an undocumented status code or media type, or refuse valid data
as malformed. The rate limits are lifted here (the fuzzer is one very busy caller).

`CREWCALL_FUZZ_SEED=<n>` runs it with another seed (hypothesis's own otherwise, fixed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.config import SchemathesisConfig

from crewcall.accounts.models import User
from crewcall.conftest import Agency
from crewcall.testing.api import token_for

ROOT = Path(__file__).resolve().parents[4]
config = SchemathesisConfig.from_path(str(ROOT / "schemathesis.toml"))
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), config=config)
# (The change stream, /api/v1/changes, is Server-Sent Events on a view of its own, outside
# this schema: crewcall.changes tests it.)

SEED = os.environ.get("CREWCALL_FUZZ_SEED")

# The caller of the running test: its token goes into every generated request through
# schemathesis's auth, so the checks that try a request without it or with a wrong one
# (ignored_auth) know what to take away.
CALLER: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class CallerToken:
    def get(self, case: Any, ctx: Any) -> str | None:
        return CALLER.get("token")  # (None while collecting)

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def seeded(test: Callable[..., Any]) -> Callable[..., Any]:
    return hypothesis.seed(int(SEED))(test) if SEED else test


def fuzz(**budget: Any) -> settings:
    return settings(
        deadline=None, suppress_health_check=list(HealthCheck), derandomize=SEED is None, **budget
    )


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    # The handler would close the test's connection (and its transaction) after each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def some_data(agency: Agency, monkeypatch: pytest.MonkeyPatch) -> Agency:
    from crewcall.api import bucket
    from crewcall.core.api.guard import unauthenticated

    # Thousands of requests, some without credentials on purpose: no rate limit answers.
    monkeypatch.setattr(bucket, "burst", 1e9)
    monkeypatch.setattr(unauthenticated, "burst", 1e9)
    # Some data, so ids 1, 2, … exist for a share of the generated requests.
    event = agency.event(employees_needed=3, employees_to_ask=6)
    agency.area(event)
    for i in range(3):
        agency.accepted(event, agency.employee(name=f"Person {i}"))
    return agency


@pytest.fixture
def every_kind(some_data: Agency) -> Agency:
    """One or more of every kind of object the API hands out, so that each list's first
    item leads somewhere: a skill, a template, absences, a placement, worked hours."""
    from crewcall.events.services import event_create
    from crewcall.people.services import absence_create, skill_create
    from crewcall.staffing.placement import assignment_create
    from crewcall.staffing.services import work_log_create

    agency, actor = some_data, some_data.actor
    skill_create(actor=actor, key="forklift", name="Forklift")
    event_create(
        actor=actor,
        title="Weekly bar",
        start_time=time(18),
        end_time=time(23),
        hourly_rate=Decimal("15.00"),
        employees_needed=2,
        is_template=True,
    )
    past = agency.event(title="Last week", event_date=timezone.localdate() - timedelta(days=7))
    area = agency.area(past, name="Hall")
    for i in range(2):
        person = agency.employee(name=f"Worker {i}")
        absence_create(
            actor=actor,
            employee_id=person.pk,
            kind="vacation",
            starts_on=timezone.localdate() + timedelta(days=30 + 10 * i),
            ends_on=timezone.localdate() + timedelta(days=33 + 10 * i),
        )
        invitation = agency.accepted(past, person)
        assignment_create(
            actor=actor, work_area_id=area.pk, role_id=agency.bartender.pk, invitation_id=invitation.pk
        )
        start = timezone.make_aware(datetime.combine(past.event_date, time(18)))
        work_log_create(
            actor=actor,
            event_id=past.pk,
            employee_id=person.pk,
            started_at=start,
            ended_at=start + timedelta(hours=5),
            break_minutes=30,
        )
    return agency


@pytest.fixture
def as_admin(alice: User, some_data: Agency) -> Iterator[None]:
    CALLER["token"] = token_for(alice)
    yield
    CALLER.clear()


@pytest.fixture
def as_viewer(carol: User, some_data: Agency) -> Iterator[None]:
    CALLER["token"] = token_for(carol)
    yield
    CALLER.clear()


@schema.parametrize()
@seeded
@fuzz(max_examples=25)
def test_every_operation_answers_an_admin_as_documented(
    case: Any, as_admin: None, wsgi_in_test_transaction: None
) -> None:
    case.call_and_validate()


@schema.parametrize()
@seeded
@fuzz(max_examples=8)
def test_every_operation_answers_a_viewer_as_documented(
    case: Any, as_viewer: None, wsgi_in_test_transaction: None
) -> None:
    # Reads as an admin's; every change a 403 (documented), whatever the body.
    case.call_and_validate()


def declared_links() -> set[str]:
    from crewcall.api import api

    found = set()
    for path, operations in api.get_openapi_schema()["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                for name in answer.get("links", {}):
                    found.add(f"{method.upper()} {path} -> {status} -> {name}")
    return found


def test_the_stateful_phase_follows_the_declared_links(
    as_admin: None, every_kind: Agency, wsgi_in_test_transaction: None
) -> None:
    """Create, read, change and act on objects by the schema's links, every step checked
    by every check. The links taken are counted (docs/api.md, "Conformance", has the
    figures): schemathesis picks a random operation at most steps, so a run this short
    takes a share of them, not all."""
    followed: set[str] = set()

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        # Every scenario starts from the same data (hypothesis replays scenarios and
        # expects the same answers): a savepoint Django does not know of, rolled back.
        def setup(self) -> None:
            with connection.cursor() as cursor:
                cursor.execute("SAVEPOINT stateful_scenario")

        def teardown(self) -> None:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK TO SAVEPOINT stateful_scenario")

        def step(self, input: Any) -> Any:
            output = super().step(input)
            transition = input.transition
            if transition is not None and not transition.is_inferred and input.is_applied:
                followed.add(transition.id)
            return output

    run_state_machine_as_test(Workflow, settings=fuzz(max_examples=60, stateful_step_count=8))
    declared = declared_links()
    print(f"links followed: {len(followed)} of {len(declared)} declared")
    # A link that resolves nothing (a wrong field, a parameter the target lacks) is never
    # taken; the declared ones are taken from creates and reads alike.
    assert followed, "no declared link could be followed"
