"""JSON logs: one object per line with time, level, logger, message, request id, source,
actor and exception text; the actor comes from a service's `actor` or the request's user."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, RequestFactory

from crewcall.core.context import request_context
from crewcall.core.transactions import service
from crewcall.ops import logs


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("crewcall.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n") and all(text.splitlines())
    return [json.loads(line) for line in text.splitlines()]


def test_one_object_per_line_with_context_and_exception(lines: io.StringIO) -> None:
    log = logging.getLogger("crewcall.test_logs")
    log.info("outside any request")
    with request_context(source="worker", request_id="req-12345678"):
        try:
            raise ValueError("bad\nthing")
        except ValueError:
            log.exception("it failed: %s", "details", extra={"job_id": 7, "odd": object()})
    first, second = records(lines)
    assert first["message"] == "outside any request" and first["level"] == "INFO"
    assert first["logger"] == "crewcall.test_logs" and first["time"].endswith("+00:00")
    assert first["request_id"] is None and first["source"] is None and first["actor"] is None
    assert "exception" not in first
    assert second["level"] == "ERROR" and second["message"] == "it failed: details"
    assert (second["request_id"], second["source"]) == ("req-12345678", "worker")
    assert "ValueError: bad\nthing" in second["exception"] and "Traceback" in second["exception"]
    assert second["job_id"] == 7 and second["odd"].startswith("<object")


def test_the_actor_of_a_service_is_on_its_lines(lines: io.StringIO, bob: Any) -> None:
    @service
    def noisy(*, actor: Any) -> None:
        logging.getLogger("crewcall.test_logs").info("inside")

    with request_context(source="cli"):
        noisy(actor=bob)
    logging.getLogger("crewcall.test_logs").info("after")
    inside, after = records(lines)
    assert (inside["actor"], inside["actor_id"], inside["source"]) == ("bob", bob.pk, "cli")
    assert after["actor"] is None


def test_the_signed_in_user_of_a_request_once_known(lines: io.StringIO, bob: Any) -> None:
    request = RequestFactory().get("/")
    token = logs.bind_request(request)
    try:
        logging.getLogger("crewcall.test_logs").info("no user yet")
        request.user = bob
        logging.getLogger("crewcall.test_logs").info("signed in")
    finally:
        logs.unbind_request(token)
    before, after = records(lines)
    assert before["actor"] is None and after["actor"] == "bob"


def test_through_the_middleware_a_request_line_names_request_id_and_actor(
    lines: io.StringIO, settings: Any, bob: Any
) -> None:
    assert settings.MIDDLEWARE[0] == "crewcall.ops.middleware.MetricsMiddleware"
    django_request = logging.getLogger("django.request")
    handler = logging.StreamHandler(lines)
    handler.setFormatter(logs.JsonFormatter())
    django_request.addHandler(handler)
    try:
        client = Client()
        client.force_login(bob)
        answer = client.get("/employees/999999999/", headers={"X-Request-ID": "abcdef123456"})
    finally:
        django_request.removeHandler(handler)
    assert answer.status_code == 404
    (line,) = [r for r in records(lines) if r["logger"] == "django.request"]
    assert line["request_id"] == "abcdef123456" and line["source"] == "web"
    assert line["actor"] == "bob" and line["level"] == "WARNING"
