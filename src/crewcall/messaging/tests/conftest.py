"""Fixtures for the messaging tests: the fake Twilio server, Twilio settings pointing at
it, a fresh circuit breaker, in-process job runs, and clean procrastinate tables."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pybreaker
import pytest

from crewcall.messaging import tasks
from crewcall.messaging.tests.fake_twilio import FakeTwilio
from crewcall.testing.jobs import run_jobs
from crewcall.testing.owner import empty_job_tables

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"  # noqa: S105 (the fake server's, not a secret)
WHATSAPP_FROM = "+14155238886"
PROCRASTINATE_TABLES = ["procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers"]


def _truncate_procrastinate() -> None:
    empty_job_tables()


@pytest.fixture(autouse=True)
def _clean_procrastinate(request: pytest.FixtureRequest) -> Iterator[None]:
    """procrastinate's tables are unmanaged: Django's flush after a transactional test
    leaves them as they are, so a job from one test would run in the next."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")
    _truncate_procrastinate()
    yield
    _truncate_procrastinate()


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def twilio_settings(settings: Any, fake_twilio: FakeTwilio) -> Any:
    """The real SDK, talking to the fake server, with short timings for tests."""
    settings.MESSAGING_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_WHATSAPP_FROM = WHATSAPP_FROM
    settings.TWILIO_API_BASE = fake_twilio.url
    settings.TWILIO_CONTENT_SIDS = {"invitation": "", "reminder": "", "confirmation": ""}
    settings.MESSAGE_SEND_TIMEOUT_S = 0.4
    settings.MESSAGE_RECONCILE_GRACE_S = 1.0
    settings.MESSAGE_RETRY_BASE_S = 0.02
    settings.MESSAGE_RETRY_CAP_S = 0.1
    settings.MESSAGE_MAX_ATTEMPTS = 5
    return settings


@pytest.fixture
def breaker(monkeypatch: pytest.MonkeyPatch) -> pybreaker.CircuitBreaker:
    """A breaker of this test's own (the module one is per process and outlives tests)."""
    fresh = tasks.new_breaker(fail_max=3, reset_timeout=0.5)
    monkeypatch.setattr(tasks, "breaker", fresh)
    return fresh


@pytest.fixture
def drain() -> Callable[..., None]:
    """Run due jobs until `done()` holds (jobs scheduled for later become due while we
    poll); fails after `timeout` seconds. The pause between rounds is polling, not an
    assertion: the check is `done()`."""

    def _drain(done: Callable[[], bool], *, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            run_jobs()
            if done():
                return
            if time.monotonic() > deadline:
                pytest.fail(f"jobs did not reach the expected state within {timeout} s")
            time.sleep(0.05)

    return _drain
