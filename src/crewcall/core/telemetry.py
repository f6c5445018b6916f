"""Telemetry: every counter, gauge and histogram a Crewcall process records.

Every layer records into the objects defined here (the kernel's retries, the change hub,
the request middleware, the message sender, `crewcall serve`); ops/metrics.py only
exposes them at `/metrics`, with what it reads from the database at scrape time.

Every process writes its figures to memory-mapped files in one folder (prometheus_client's
multiprocess mode), and `/metrics` adds them up. The folder is `PROMETHEUS_MULTIPROC_DIR`
when set, else `<data folder>/metrics`; this module sets the variable before
prometheus_client is first imported (it picks its storage on import), so record into the
objects here, never into prometheus_client objects of your own. docs/operations.md lists
every series and what it means.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"
# The files a process writes into the folder: `<kind>_<pid>.db`.
METRICS_FILE = re.compile(r"^(?P<kind>[a-z_]+)_(?P<pid>\d+)\.db$")


def metrics_dir() -> Path:
    raw = os.environ.get(ENV)
    return Path(raw) if raw else Path(settings.DATA_DIR) / "metrics"


def _prepare_dir() -> None:
    folder = metrics_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(folder)


_prepare_dir()

# Imported after the folder is known: prometheus_client chooses multiprocess storage on import.
from prometheus_client import Counter, Gauge, Histogram, values  # noqa: E402

if not getattr(values.ValueClass, "_multiprocess", False):  # pragma: no cover - import order
    logger.warning("prometheus_client was imported before crewcall.core.telemetry: counters are per process")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# --- requests (ops/middleware.py) ------------------------------------------------------------

REQUEST_LATENCY = Histogram(
    "crewcall_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL pattern, method and status class.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
REQUEST_DB_TIME = Histogram(
    "crewcall_http_request_db_seconds",
    "Time spent in database statements while answering an HTTP request, by URL pattern.",
    ["route", "method"],
    buckets=DB_BUCKETS,
)
REQUEST_DB_QUERIES = Counter(
    "crewcall_http_request_db_queries",
    "Database statements run while answering HTTP requests, by URL pattern.",
    ["route", "method"],
)
ERRORS = Counter(
    "crewcall_errors",
    "Answers that were errors, by URL pattern and category: the API problem code "
    "(validation_failed, version_conflict, rule_violation, ...), page_4xx or server_5xx.",
    ["route", "category"],
)

# --- retries and the circuit breaker (core/transactions.py, messaging/tasks.py) --------------

RETRY_ATTEMPTS = Counter(
    "crewcall_retry_attempts",
    "Attempts re-run after a transient failure (a database serialization failure, deadlock "
    "or lost connection; a provider error of a message send), by operation.",
    ["operation"],
)
RETRIES = Counter(
    "crewcall_retries",
    "Operations that needed at least one retry, by how they ended: recovered (succeeded "
    "after retrying), exhausted (gave up after the last attempt), failed (another error).",
    ["operation", "outcome"],
)
BREAKER_STATE = Gauge(
    "crewcall_breaker_state",
    "Circuit breaker state: 0 closed, 1 half-open, 2 open (the worst among live processes).",
    ["breaker"],
    multiprocess_mode="livemax",
)
BREAKER_TRANSITIONS = Counter(
    "crewcall_breaker_transitions",
    "Circuit breaker state changes, by the state entered.",
    ["breaker", "to_state"],
)
BREAKER_LAST_OPENED = Gauge(
    "crewcall_breaker_last_opened_timestamp_seconds",
    "When the breaker last opened (Unix time; 0: not since the metrics folder was emptied).",
    ["breaker"],
    multiprocess_mode="max",
)
BREAKER_LAST_CLOSED = Gauge(
    "crewcall_breaker_last_closed_timestamp_seconds",
    "When the breaker last closed after being open (Unix time).",
    ["breaker"],
    multiprocess_mode="max",
)
BREAKER_RECOVERY = Counter(
    "crewcall_breaker_recovery_seconds",
    "Time from the breaker opening to it closing again, summed over recoveries (with "
    "crewcall_breaker_recoveries_total: mean time to recovery).",
    ["breaker"],
)
BREAKER_RECOVERIES = Counter(
    "crewcall_breaker_recoveries", "Times the breaker closed again after opening.", ["breaker"]
)
BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}
# When each breaker of this process opened (a breaker lives in one worker process).
_opened_at: dict[str, float] = {}

# --- the change stream (changes/hub.py) -------------------------------------------------------

CHANGE_SUBSCRIBERS = Gauge(
    "crewcall_change_stream_subscribers",
    "Open change-stream connections (Server-Sent Events), over all web processes.",
    multiprocess_mode="livesum",
)
CHANGE_LAG = Histogram(
    "crewcall_change_stream_lag_seconds",
    "Time from a change being recorded (when its statement started) to a web process's change "
    "hub reading it, which is when subscribers can be sent it.",
    buckets=LAG_BUCKETS,
)

# --- `crewcall serve` (core/supervisor.py; counted in serve's own process) --------------------

CHILD_RESTARTS = Counter(
    "crewcall_child_restarts",
    "Child processes of `crewcall serve` started again after they died, by child (web, worker).",
    ["child"],
)
DATABASE_RESTARTS = Counter(
    "crewcall_database_restarts",
    "Times `crewcall serve` started the embedded PostgreSQL again, by why it was down: died "
    "(its postmaster was gone) or stopped (stopped from outside and not started again).",
    ["reason"],
)


def retry_ended(operation: str, outcome: str) -> None:
    RETRIES.labels(operation=operation, outcome=outcome).inc()


def retry_attempted(operation: str) -> None:
    RETRY_ATTEMPTS.labels(operation=operation).inc()


def breaker_created(name: str) -> None:
    BREAKER_STATE.labels(breaker=name).set(0)
    for state in BREAKER_STATES:
        BREAKER_TRANSITIONS.labels(breaker=name, to_state=state)
    BREAKER_LAST_OPENED.labels(breaker=name)
    BREAKER_LAST_CLOSED.labels(breaker=name)
    BREAKER_RECOVERY.labels(breaker=name)
    BREAKER_RECOVERIES.labels(breaker=name)


def breaker_changed(name: str, old_state: str, new_state: str, *, at: float) -> None:
    BREAKER_STATE.labels(breaker=name).set(BREAKER_STATES.get(new_state, 0))
    BREAKER_TRANSITIONS.labels(breaker=name, to_state=new_state).inc()
    if new_state == "open":
        BREAKER_LAST_OPENED.labels(breaker=name).set(at)
        _opened_at.setdefault(name, at)  # half-open → open again: still the same outage
    elif new_state == "closed" and old_state != "closed":
        BREAKER_LAST_CLOSED.labels(breaker=name).set(at)
        opened = _opened_at.pop(name, None)
        if opened is not None:
            BREAKER_RECOVERY.labels(breaker=name).inc(max(0.0, at - opened))
            BREAKER_RECOVERIES.labels(breaker=name).inc()


# --- retention (core/retention.py: the periodic prunes) ----------------------------------------

PRUNED_ROWS = Counter(
    "crewcall_pruned_rows",
    "Rows removed (or, for inbound_raw, payloads dropped) by the periodic retention jobs, by kind.",
    ["kind"],
)


def rows_pruned(kind: str, count: int) -> None:
    PRUNED_ROWS.labels(kind=kind).inc(count)
