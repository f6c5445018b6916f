"""The test run's settings: a fast hasher in tests and in the processes they start, never in
the product's settings."""

from __future__ import annotations

import os
import subprocess
import sys

from django.contrib.auth.hashers import check_password, make_password

FIRST_HASHER = (
    "import django; django.setup(); from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"
)
CHECK = "import django, sys; django.setup(); from django.contrib.auth.hashers import check_password; print(check_password('x', sys.argv[1]))"


def _python(code: str, *args: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_tests_hash_fast_and_a_process_they_start_accepts_the_hash() -> None:
    hashed = make_password("x")
    assert hashed.startswith("md5$") and check_password("x", hashed)
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "crewcall.testing.settings"  # what children inherit
    assert _python(CHECK, hashed) == "True"


def test_the_product_settings_keep_djangos_slow_hasher() -> None:
    first = _python(FIRST_HASHER, DJANGO_SETTINGS_MODULE="crewcall.settings")
    assert first == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
