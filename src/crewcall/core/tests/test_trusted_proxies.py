"""Forwarding headers are believed only from CREWCALL_TRUSTED_PROXIES, in a real `crewcall
web` process (uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1, so any
client on the machine could pose as any address and slip past a per-address limit)."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from django.conf import settings

from crewcall.testing.sse import web_processes

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def sign_in_status(port: int, username: str, forwarded_for: str = "") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    conn.request("POST", "/login/", body=f"username={username}&password=wrong", headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def use_up_the_address(port: int) -> None:
    """Other user names each time: only the per-address limit counts (no CSRF token, so
    each attempt ends at 403 after the limit let it through)."""
    for i in range(settings.LOGIN_RATE_PER_MINUTE):
        assert sign_in_status(port, f"guess{i}") == 403
    assert sign_in_status(port, "guess-more") == 429


def test_a_made_up_forwarded_for_is_ignored_by_default(tmp_path: Path) -> None:
    with web_processes(tmp_path) as (web,):
        use_up_the_address(web.port)
        assert sign_in_status(web.port, "guess-xff", forwarded_for="198.51.100.7") == 429


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    with web_processes(tmp_path, CREWCALL_TRUSTED_PROXIES="127.0.0.1") as (web,):
        use_up_the_address(web.port)
        assert sign_in_status(web.port, "guess-xff", forwarded_for="198.51.100.7") == 403
