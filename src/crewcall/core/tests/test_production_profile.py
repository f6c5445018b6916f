"""The production profile an https public URL switches on, and the headers every answer
carries."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings

from crewcall.testing.api import Api, token_for

STRONG_KEY = "k" * 20 + "-Vq3R8sLx2Zp9Tw4Yb7Nc1Md6Fg0Hj5Ka"


def check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    # Not the test run's own switches (DJANGO_ALLOW_ASYNC_UNSAFE is for pytest-django).
    child = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CREWCALL_HSTS") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    child.update(
        CREWCALL_SECRET_KEY=STRONG_KEY,
        CREWCALL_ALLOWED_HOSTS="crew.example.com",
        CREWCALL_DEBUG="false",
        DJANGO_SETTINGS_MODULE="crewcall.settings",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "crewcall", "check", "--deploy", "--fail-level", "WARNING"],
        env=child, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_an_https_public_url_passes_check_deploy() -> None:
    done = check_deploy(CREWCALL_PUBLIC_URL="https://crew.example.com")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout, done.stdout


def test_the_control_plain_http_does_not() -> None:
    done = check_deploy(CREWCALL_PUBLIC_URL="http://crew.example.com")
    assert done.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in done.stderr + done.stdout, check


def test_sessions_last_twelve_hours_by_default() -> None:
    assert settings.SESSION_COOKIE_AGE == 12 * 3600 and settings.SESSION_COOKIE_HTTPONLY


@pytest.mark.django_db
def test_authenticated_answers_are_not_stored_and_every_answer_has_a_permissions_policy(
    client: Any, bob: Any
) -> None:
    anonymous = client.get("/healthz")
    assert "camera=()" in anonymous["Permissions-Policy"]
    assert "no-store" not in anonymous.get("Cache-Control", "")

    client.force_login(bob)
    for path in ("/", "/employees/"):
        page = client.get(path)
        assert page.status_code == 200
        assert {"private", "no-store"} <= {p.strip() for p in page["Cache-Control"].split(",")}, path
        assert page["Permissions-Policy"]

    answer = Api(token=token_for(bob)).get("employees")
    assert answer.status_code == 200
    assert {"private", "no-store"} <= {p.strip() for p in answer["Cache-Control"].split(",")}
    refused = Api(token="ccw_wrong").get("employees")
    assert "no-store" not in refused.get("Cache-Control", "")
