"""Prometheus metrics: what every process counts, and what the database says at scrape time.

Every process (each web server process, each worker) writes its counters, histograms and
gauges to memory-mapped files in one folder (prometheus_client's multiprocess mode), and
`/metrics` adds them up. The folder is `PROMETHEUS_MULTIPROC_DIR` when set, else
`<data folder>/metrics`; this module sets the variable before prometheus_client is first
imported (it picks its storage on import), so import metrics from here, never from
prometheus_client directly. `crewcall serve` empties the folder when it starts; the files of
processes that no longer run are folded into archive files (`clean_metrics_dir`, at `crewcall
web` start, at every scrape and by a periodic job; ops/metrics_files.py).

Figures that live in the database (job backlog, messages by status) are read when
`/metrics` is scraped (`DatabaseCollector`), so they are the same whichever process
answers. docs/operations.md lists every series and what it means.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_dir() -> Path:
    raw = os.environ.get(ENV)
    return Path(raw) if raw else Path(settings.DATA_DIR) / "metrics"


def _prepare_dir() -> None:
    folder = metrics_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(folder)


_prepare_dir()

# Imported after the folder is known: prometheus_client chooses multiprocess storage on import.
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

if not getattr(values.ValueClass, "_multiprocess", False):  # pragma: no cover - import order
    logger.warning("prometheus_client was imported before crewcall.ops.metrics: counters are per process")

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


# --- read from the database at scrape time ----------------------------------------------------

JOBS_SQL = "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2"
# A waiting job's age: since it became due (scheduled_at) or, unscheduled, since deferred.
OLDEST_TODO_SQL = """
SELECT j.queue_name, extract(epoch FROM now() - min(coalesce(j.scheduled_at, d.at, now())))
FROM procrastinate_jobs j
LEFT JOIN LATERAL (
    SELECT min(e.at) AS at FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'deferred'
) d ON true
WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
GROUP BY 1 ORDER BY 1
"""
WORKERS_SQL = (
    "SELECT count(*), coalesce(extract(epoch FROM now() - max(last_heartbeat)), -1) "
    "FROM procrastinate_workers"
)
COUNT_BY_SQL = "SELECT {column}, count(*) FROM {table} GROUP BY 1 ORDER BY 1"
JOB_STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


class DatabaseCollector(Collector):
    """Gauges read from the database when /metrics is scraped (one short connection)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from crewcall.ops.health import direct_connection

        scrape_ok = GaugeMetricFamily(
            "crewcall_database_scrape_ok", "1 when the database figures below could be read, else 0."
        )
        families: list[GaugeMetricFamily] = []
        try:
            with direct_connection() as conn:
                families = list(self._read(conn))
        except Exception as exc:  # the scrape still answers with what every process counted
            logger.warning("metrics: reading the database failed: %s", exc)
            scrape_ok.add_metric([], 0)
        else:
            scrape_ok.add_metric([], 1)
        yield scrape_ok
        yield from families

    @staticmethod
    def _read(conn: Any) -> Iterator[GaugeMetricFamily]:
        from crewcall.changes.selectors import HORIZON_AGE_SQL
        from crewcall.messaging.models import DeliveryStatus, InboundMessage, InboundOutcome, OutboundMessage

        jobs = GaugeMetricFamily(
            "crewcall_jobs", "Jobs in the queue table by queue and status.", labels=["queue", "status"]
        )
        seen: dict[str, dict[str, int]] = {}
        for queue, status, count in conn.execute(JOBS_SQL).fetchall():
            seen.setdefault(queue, {})[status] = count
        for queue, by_status in seen.items():
            for status in JOB_STATUSES:
                jobs.add_metric([queue, status], by_status.get(status, 0))
        yield jobs
        oldest = GaugeMetricFamily(
            "crewcall_jobs_oldest_todo_age_seconds",
            "Age of the oldest job that is due and waiting for a worker, by queue (0: none waiting).",
            labels=["queue"],
        )
        ages = {queue: float(age) for queue, age in conn.execute(OLDEST_TODO_SQL).fetchall()}
        for queue in sorted(set(seen) | set(ages)):
            oldest.add_metric([queue], max(0.0, ages.get(queue, 0.0)))
        yield oldest
        from django.conf import settings

        from crewcall.core.stalled_jobs import stalled_jobs_sql

        (stalled,) = conn.execute(
            f"SELECT count(*) FROM ({stalled_jobs_sql()}) AS s",  # noqa: S608 - constant SQL
            {"stalled_s": settings.WORKER_STALLED_S},
        ).fetchone()
        yield GaugeMetricFamily(
            "crewcall_jobs_stalled",
            "Jobs `doing` whose worker is gone or silent past CREWCALL_WORKER_STALLED_S: the "
            "stalled-job recovery retries or fails them within seconds (above 0 for minutes: "
            "no worker runs it).",
            value=stalled,
        )
        workers, heartbeat_age = conn.execute(WORKERS_SQL).fetchone()
        yield GaugeMetricFamily("crewcall_workers", "Job workers registered in the database.", value=workers)
        yield GaugeMetricFamily(
            "crewcall_worker_heartbeat_age_seconds",
            "Seconds since the freshest worker heartbeat (-1: no worker).",
            value=float(heartbeat_age),
        )
        messages = GaugeMetricFamily(
            "crewcall_messages", "Outbound messages by delivery status.", labels=["status"]
        )
        sql = COUNT_BY_SQL.format(column="status", table=OutboundMessage._meta.db_table)
        counts = dict(conn.execute(sql).fetchall())
        for status in DeliveryStatus.values:
            messages.add_metric([status], counts.get(status, 0))
        yield messages
        inbound = GaugeMetricFamily(
            "crewcall_inbound_messages",
            "Inbound messages by outcome (pending: not applied yet).",
            labels=["outcome"],
        )
        sql = COUNT_BY_SQL.format(column="outcome", table=InboundMessage._meta.db_table)
        counts = dict(conn.execute(sql).fetchall())
        for outcome in InboundOutcome.values:
            inbound.add_metric([outcome], counts.get(outcome, 0))
        yield inbound
        (horizon_age,) = conn.execute(HORIZON_AGE_SQL).fetchone()
        yield GaugeMetricFamily(
            "crewcall_change_feed_horizon_age_seconds",
            "How long the oldest transaction that holds the change feed back (one that may write to "
            "Crewcall's database) has been open; 0 when none.",
            value=float(horizon_age),
        )
        yield from _kpi_families(conn)


def _kpi_families(conn: Any) -> Iterator[GaugeMetricFamily]:
    """The KPI page's database figures (ops/kpis.py), for Prometheus as well."""
    from crewcall.ops.kpis import DELIVERY_SQL, LAST_CANARY_SQL, LAST_INTEGRITY_SQL

    score = GaugeMetricFamily(
        "crewcall_integrity_score",
        "Share of integrity checks that passed in the last `crewcall integrity` run (0..1; "
        "absent before the first run).",
    )
    row = conn.execute(LAST_INTEGRITY_SQL).fetchone()
    if row is not None:
        score.add_metric([], row[2])
    yield score
    canary = GaugeMetricFamily(
        "crewcall_canary_last_ok",
        "1 when the last canary audit passed, 0 when it failed (absent: never run).",
    )
    when = GaugeMetricFamily(
        "crewcall_canary_last_run_timestamp_seconds", "When the last canary audit finished (Unix time)."
    )
    row = conn.execute(LAST_CANARY_SQL).fetchone()
    if row is not None:
        canary.add_metric([], 1 if row[0] else 0)
        when.add_metric([], row[1].timestamp())
    yield canary
    yield when
    delivered, failed = conn.execute(DELIVERY_SQL).fetchone()
    ratio = GaugeMetricFamily(
        "crewcall_message_delivery_success_ratio",
        "Messages of the last 7 days that reached the phone (sent, delivered or read) among "
        "those that ended (the same and failed or undelivered); absent when none ended.",
    )
    if delivered + failed:
        ratio.add_metric([], delivered / (delivered + failed))
    yield ratio


# --- the folder and the answer ----------------------------------------------------------------

_FILE = re.compile(r"^(?P<kind>[a-z_]+)_(?P<pid>\d+)\.db$")


def reset_metrics_dir() -> None:
    """Empty the folder but for this process's files: `crewcall serve` does, before it starts
    its processes. Its own files are open (memory-mapped) and hold its restart counters."""
    folder = metrics_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        match = _FILE.match(path.name)
        if match and int(match["pid"]) == os.getpid():
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()


def clean_metrics_dir() -> None:
    """Fold the files of processes that no longer run into the archive (`crewcall web` does
    on start; every scrape and the `ops.fold_metrics_files` job do too): what they counted
    stays in the totals, their files go (ops/metrics_files.py)."""
    from crewcall.ops.metrics_files import fold_dead_processes

    fold_dead_processes()


def registry(*, database: bool = True) -> CollectorRegistry:
    from crewcall.ops.metrics_files import LockedMultiProcessCollector

    reg = CollectorRegistry()
    LockedMultiProcessCollector(reg, path=str(metrics_dir()))
    if database:
        reg.register(DatabaseCollector())
    return reg


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type."""
    clean_metrics_dir()
    return generate_latest(registry()), CONTENT_TYPE_LATEST
