"""schemathesis over the whole /api/v1 schema, in process, on the real database.

Every operation gets generated requests (valid and invalid) as an admin: no answer may be
a server error, break its documented schema, use an undocumented status code or media
type. The rate limit is lifted here (the fuzzer is one very busy caller)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from crewcall.conftest import Agency
from crewcall.testing.api import token_for

# A change without its If-Match is refused with 428 Precondition Required (RFC 6585),
# which the missing-header check is told to expect besides its defaults.
config = SchemathesisConfig.from_dict(
    {"checks": {"missing_required_header": {"expected-statuses": [400, 401, 403, 406, 415, 422, 428]}}}
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), config=config)
# (The change stream, /api/v1/changes, is Server-Sent Events on a view of its own, outside
# this schema: crewcall.changes tests it.)


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
def admin_token(alice: Any, agency: Agency, monkeypatch: pytest.MonkeyPatch) -> str:
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
    return token_for(alice)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented(
    case: Any, admin_token: str, wsgi_in_test_transaction: None
) -> None:
    # Every check but "schema-valid data accepted": a request can fit the schema and still
    # be refused by a rule the schema cannot say (a phone number that does not exist, a
    # role that is not in the catalogue, a stale version) — those answers are documented.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"}, excluded_checks=[positive_data_acceptance]
    )
