"""Settings from the environment fail loudly, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from crewcall.core import env


def test_typed_helpers_refuse_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env.env_bool("X_BOOL")
    monkeypatch.setenv("X_INT", "12a")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env.env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "-3")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env.env_int("X_INT", 1, minimum=0)
    monkeypatch.setenv("X_TZ", "Mars/Olympus")
    with pytest.raises(ImproperlyConfigured, match="X_TZ"):
        env.env_time_zone("X_TZ", "UTC")
    monkeypatch.setenv("X_URL", "ftp://example.org")
    with pytest.raises(ImproperlyConfigured, match="X_URL"):
        env.env_url("X_URL", "http://127.0.0.1")
    monkeypatch.setenv("X_LEVEL", "LOUD")
    with pytest.raises(ImproperlyConfigured, match="X_LEVEL"):
        env.env_choice("X_LEVEL", "INFO", choices=("INFO", "DEBUG"))
    monkeypatch.setenv("X_BOOL", "Yes")
    assert env.env_bool("X_BOOL") is True


def test_the_secret_key_is_generated_once_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREWCALL_SECRET_KEY", raising=False)
    first = env.secret_key(tmp_path)
    assert len(first) >= 32
    assert env.secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("CREWCALL_SECRET_KEY", "short")
    with pytest.raises(ImproperlyConfigured, match="CREWCALL_SECRET_KEY"):
        env.secret_key(tmp_path)


def test_a_bad_setting_stops_the_process_with_its_name(tmp_path: Path) -> None:
    child_env = {**os.environ, "CREWCALL_DATA_DIR": str(tmp_path), "CREWCALL_DEBUG": "perhaps"}
    result = subprocess.run(
        [sys.executable, "-m", "crewcall", "check"], env=child_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "CREWCALL_DEBUG='perhaps' is not a boolean" in result.stderr
