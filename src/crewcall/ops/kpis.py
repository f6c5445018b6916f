"""The KPI page's figures: read from the metrics every process keeps (core/telemetry.py,
counted since `crewcall serve` started) and from the database (the last integrity run,
the last canary audit, message delivery; the queries are ops/metrics.py's). /metrics
exposes the same inputs, so a Prometheus server computes the same figures over any window
it likes (docs/operations.md).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from prometheus_client.samples import Sample

from crewcall.changes.selectors import feed_horizon_age_s
from crewcall.ops.audit_seal import chain_heads
from crewcall.ops.metrics import DELIVERY_SQL, registry
from crewcall.ops.models import CanaryRun, IntegrityRun


@dataclass(frozen=True)
class RouteFigures:
    route: str
    requests: int
    errors: int
    p95_s: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass
class Kpis:
    integrity: IntegrityRun | None
    canary: CanaryRun | None
    delivered: int
    undelivered: int
    requests: int
    errors: int
    latency_p50_s: float | None
    latency_p95_s: float | None
    retries: int
    recovered: int
    recoveries: int
    recovery_seconds: float
    breaker_open: bool
    stream_lag_p50_s: float | None
    stream_lag_p95_s: float | None
    stream_subscribers: int
    routes: list[RouteFigures] = field(default_factory=list)
    # How long the oldest transaction holding the change feed back has been open (0: none),
    # and the age past which /readyz calls the feed degraded.
    feed_horizon_age_s: float = 0.0
    feed_horizon_limit_s: float = 30.0
    # The last sealed row of every audit chain (ops/audit_seal.py): table, key, chain hash.
    chain_heads: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def feed_held_back(self) -> bool:
        return self.feed_horizon_age_s > self.feed_horizon_limit_s

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def recovery_rate(self) -> float | None:
        return self.recovered / self.retries if self.retries else None

    @property
    def mttr_s(self) -> float | None:
        return self.recovery_seconds / self.recoveries if self.recoveries else None

    @property
    def delivery_rate(self) -> float | None:
        ended = self.delivered + self.undelivered
        return self.delivered / ended if ended else None


def quantile(buckets: dict[float, float], q: float) -> float | None:
    """The q-quantile of a cumulative histogram, linear within the bucket it falls in (as
    Prometheus's histogram_quantile does); None without observations."""
    edges = sorted(buckets)
    if not edges or buckets[edges[-1]] <= 0:
        return None
    rank = q * buckets[edges[-1]]
    lower_edge, lower_count = 0.0, 0.0
    for edge in edges:
        count = buckets[edge]
        if count >= rank:
            if math.isinf(edge):
                return lower_edge  # beyond the last finite bucket: its edge is what we know
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_edge + (edge - lower_edge) * share
        lower_edge, lower_count = edge, count
    return lower_edge


def _samples() -> list[Sample]:
    return [sample for family in registry(database=False).collect() for sample in family.samples]


def _sum(samples: Iterable[Sample], name: str, **labels: str) -> float:
    return sum(
        s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _buckets(samples: Iterable[Sample], name: str, **labels: str) -> dict[float, float]:
    found: dict[float, float] = defaultdict(float)
    for s in samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            found[float(s.labels["le"])] += s.value
    return found


def kpi_figures(*, top_routes: int = 12) -> Kpis:
    samples = _samples()
    latency = "crewcall_http_request_duration_seconds"
    requests_by_route: dict[str, float] = defaultdict(float)
    for s in samples:
        if s.name == latency + "_count":
            requests_by_route[s.labels["route"]] += s.value
    errors_by_route: dict[str, float] = defaultdict(float)
    for s in samples:
        if s.name == "crewcall_errors_total":
            errors_by_route[s.labels["route"]] += s.value
    busiest = sorted(requests_by_route, key=lambda r: -requests_by_route[r])[:top_routes]
    routes = [
        RouteFigures(
            route=route,
            requests=int(requests_by_route[route]),
            errors=int(errors_by_route.get(route, 0)),
            p95_s=quantile(_buckets(samples, latency + "_bucket", route=route), 0.95),
        )
        for route in busiest
    ]
    every_latency = _buckets(samples, latency + "_bucket")
    lag = _buckets(samples, "crewcall_change_stream_lag_seconds_bucket")
    with connection.cursor() as cursor:
        cursor.execute(DELIVERY_SQL)
        delivered, undelivered = cursor.fetchone()
        heads = chain_heads(cursor)["tables"]
    horizon_age = feed_horizon_age_s()
    return Kpis(
        integrity=IntegrityRun.objects.order_by("-started_at", "-id").first(),
        canary=CanaryRun.objects.order_by("-started_at", "-id").first(),
        delivered=delivered,
        undelivered=undelivered,
        requests=int(sum(requests_by_route.values())),
        errors=int(sum(errors_by_route.values())),
        latency_p50_s=quantile(every_latency, 0.5),
        latency_p95_s=quantile(every_latency, 0.95),
        retries=int(_sum(samples, "crewcall_retries_total")),
        recovered=int(_sum(samples, "crewcall_retries_total", outcome="recovered")),
        recoveries=int(_sum(samples, "crewcall_breaker_recoveries_total")),
        recovery_seconds=_sum(samples, "crewcall_breaker_recovery_seconds_total"),
        breaker_open=any(s.name == "crewcall_breaker_state" and s.value >= 2 for s in samples),
        stream_lag_p50_s=quantile(lag, 0.5),
        stream_lag_p95_s=quantile(lag, 0.95),
        stream_subscribers=int(_sum(samples, "crewcall_change_stream_subscribers")),
        routes=routes,
        feed_horizon_age_s=horizon_age,
        feed_horizon_limit_s=settings.READY_HORIZON_AGE_S,
        chain_heads=sorted(heads.items()),
    )
