"""Log lines of a real `crewcall web` process: uvicorn's access and error lines go through
the same logging as Django's (JSON in JSON mode), and no line carries an employee's signed
link, a query string's values or a phone number."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest

from crewcall.ops.logs import redact
from crewcall.testing.sse import web_processes

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

SIGNED_LINK = "eyJlIjo0Mn0.Zx8-signature_value"
PHONE = "4915112345678"


def get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    status = conn.getresponse().status
    conn.close()
    return status


def test_json_mode_logs_every_line_as_json_without_links_or_phone_numbers(tmp_path: Path) -> None:
    with web_processes(tmp_path, CREWCALL_LOG_FORMAT="json") as (web,):
        get(web.port, f"/r/{SIGNED_LINK}/")
        get(web.port, f"/employees/?q=%2B{PHONE}&sort=name")
        get(web.port, f"/api/v1/employees?q={PHONE}")
        assert get(web.port, "/healthz") == 200
        web.stop()
    lines = [line for line in web.output().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    text = web.output()
    assert SIGNED_LINK not in text and PHONE not in text, text
    access = [e["message"] for e in entries if e["logger"] == "uvicorn.access"]
    assert any("/r/[link]/" in m for m in access), access
    assert any("/employees/?q=…&sort=…" in m for m in access), access


def test_the_redaction_itself() -> None:
    assert redact('"GET /r/abc.def-ghi/answer/3 HTTP/1.1"') == '"GET /r/[link]/answer/3 HTTP/1.1"'
    assert redact("/api/v1/employees?q=M%C3%BCller&limit=5") == "/api/v1/employees?q=…&limit=…"
    assert redact("sent to +49 151 12345678") == "sent to [phone]"
    assert redact("answered in 4 ms; event 12345") == "answered in 4 ms; event 12345"


def test_extra_fields_tracebacks_and_stacks_are_redacted_too() -> None:
    import io
    import logging

    from crewcall.ops.logs import JsonFormatter, RedactFilter

    for formatter in (JsonFormatter(), logging.Formatter("%(message)s %(path)s %(numbers)s")):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(RedactFilter())
        handler.setFormatter(formatter)
        logger = logging.getLogger(f"crewcall.tests.redaction.{type(formatter).__name__}")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            try:
                raise ValueError(f"no employee with +{PHONE}")
            except ValueError:
                logger.exception(
                    "lookup failed",
                    extra={"path": f"/r/{SIGNED_LINK}/", "numbers": {"to": [f"+{PHONE}"]}},
                    stack_info=True,
                )
        finally:
            logger.removeHandler(handler)
        text = stream.getvalue()
        assert "lookup failed" in text and "ValueError" in text and "[link]" in text, text
        assert SIGNED_LINK not in text and PHONE not in text, text
