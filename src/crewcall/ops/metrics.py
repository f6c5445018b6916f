"""Prometheus metrics: the `/metrics` answer, and what the database says at scrape time.

What every process counts lives in core/telemetry.py (it also picks the metrics folder, so
it is imported here before prometheus_client). The
files of processes that no longer run are folded into archive files (`clean_metrics_dir`, at
`crewcall web` start, at every scrape and by a periodic job; ops/metrics_files.py);
`crewcall serve` empties the folder when it starts (`reset_metrics_dir`).

Figures that live in the database (job backlog, messages by status, the KPI page's last
integrity run, canary and delivery) are read when `/metrics` is scraped
(`DatabaseCollector`), so they are the same whichever process answers. docs/operations.md
lists every series and what it means.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterator
from typing import Any

from django.conf import settings

from crewcall.changes.selectors import HORIZON_AGE_SQL
from crewcall.core.stalled_jobs import stalled_jobs_sql

# Before prometheus_client: it chooses multiprocess storage on import (core/telemetry.py).
from crewcall.core.telemetry import METRICS_FILE, metrics_dir
from crewcall.messaging.models import DeliveryStatus, InboundMessage, InboundOutcome, OutboundMessage
from crewcall.ops.health import direct_connection
from crewcall.ops.metrics_files import LockedMultiProcessCollector, fold_dead_processes

logger = logging.getLogger(__name__)

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

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
# The KPI page's figures (ops/kpis.py).
LAST_INTEGRITY_SQL = (
    "SELECT finished_at, checks_run, CASE WHEN checks_run = 0 THEN 1.0"
    " ELSE (checks_run - checks_failed)::float / checks_run END"
    " FROM ops_integrityrun ORDER BY started_at DESC, id DESC LIMIT 1"
)
LAST_CANARY_SQL = "SELECT ok, finished_at FROM ops_canaryrun ORDER BY started_at DESC, id DESC LIMIT 1"
DELIVERY_SQL = (
    "SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read')),"
    " count(*) FILTER (WHERE status IN ('failed', 'undelivered'))"
    " FROM messaging_outboundmessage WHERE created_at > now() - interval '7 days'"
)
COUNT_BY_SQL = "SELECT {column}, count(*) FROM {table} GROUP BY 1 ORDER BY 1"
JOB_STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


class DatabaseCollector(Collector):
    """Gauges read from the database when /metrics is scraped (one short connection)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
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
    """The KPI page's database figures (ops/kpis.py reads the same queries), for Prometheus."""

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


def reset_metrics_dir() -> None:
    """Empty the folder but for this process's files: `crewcall serve` does, before it starts
    its processes. Its own files are open (memory-mapped) and hold its restart counters."""
    folder = metrics_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        match = METRICS_FILE.match(path.name)
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
    fold_dead_processes()


def registry(*, database: bool = True) -> CollectorRegistry:
    reg = CollectorRegistry()
    LockedMultiProcessCollector(reg, path=str(metrics_dir()))
    if database:
        reg.register(DatabaseCollector())
    return reg


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type."""
    clean_metrics_dir()
    return generate_latest(registry()), CONTENT_TYPE_LATEST
