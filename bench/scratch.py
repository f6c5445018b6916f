"""What the bench scripts share: Django on a scratch embedded database, and plain
psycopg connections to it.

    from scratch import use_scratch_database
    use_scratch_database("bench-stream", "bench_stream")   # before anything imports models

Never the user's data: DATABASE_URL is ignored, and the data folder defaults to
`.data/<folder>` in the checkout (CREWCALL_DATA_DIR and CREWCALL_DATABASE_NAME override).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_PARAMS: dict[str, Any] = {}


def use_scratch_database(folder: str, database: str) -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("CREWCALL_DATA_DIR", str(ROOT / ".data" / folder))
    os.environ.setdefault("CREWCALL_DATABASE_NAME", database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crewcall.settings")
    os.environ.setdefault("CREWCALL_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def connect() -> Any:
    """A plain psycopg connection to the scratch database (parameters resolved once, in
    the calling thread: attaching to the embedded server is not for concurrent threads)."""
    import psycopg
    from django.db import connection

    if not _PARAMS:
        connection.ensure_connection()
        _PARAMS.update(connection.get_connection_params())
        for key in ("cursor_factory", "context"):
            _PARAMS.pop(key, None)
        connection.close()
    return psycopg.connect(**_PARAMS)


def stop_process(process: Any, *, timeout: float = 30) -> None:
    """SIGTERM, a grace period to finish cleanly, then SIGKILL (scripts never leave one running)."""
    import signal
    import subprocess

    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
