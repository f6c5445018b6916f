"""The KPI page and its figures: admins only; the consistency score of the last integrity
run, the last canary, mean time to recovery from the breaker's transitions, recovery
success from retries, delivery from the messages; the same figures in /metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from crewcall.core import telemetry
from crewcall.ops.kpis import kpi_figures, quantile
from crewcall.ops.models import CanaryRun, IntegrityRun

pytestmark = pytest.mark.django_db


def test_quantiles_interpolate_within_the_bucket_like_prometheus() -> None:
    buckets = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, float("inf"): 100.0}
    assert quantile(buckets, 0.5) == pytest.approx(0.1)
    assert quantile(buckets, 0.7) == pytest.approx(0.1 + 0.4 * (20 / 40))
    assert quantile(buckets, 0.95) == pytest.approx(0.5 + 0.5 * 0.5)
    assert quantile({0.1: 0.0, float("inf"): 0.0}, 0.5) is None
    assert quantile({0.1: 1.0, float("inf"): 3.0}, 0.9) == 0.1  # beyond the last edge: the edge


def test_recovery_figures_follow_the_breaker_and_the_retries() -> None:
    before = kpi_figures()
    telemetry.breaker_created("kpi-test")
    telemetry.breaker_changed("kpi-test", "closed", "open", at=1000.0)
    telemetry.breaker_changed("kpi-test", "open", "half-open", at=1030.0)
    telemetry.breaker_changed("kpi-test", "half-open", "open", at=1031.0)  # the same outage
    telemetry.breaker_changed("kpi-test", "open", "half-open", at=1060.0)
    telemetry.breaker_changed("kpi-test", "half-open", "closed", at=1061.0)
    telemetry.retry_ended("kpi.test", "recovered")
    telemetry.retry_ended("kpi.test", "recovered")
    telemetry.retry_ended("kpi.test", "exhausted")
    after = kpi_figures()
    assert after.recoveries - before.recoveries == 1
    assert after.recovery_seconds - before.recovery_seconds == pytest.approx(61.0)
    assert (after.retries - before.retries, after.recovered - before.recovered) == (3, 2)


def _record_runs() -> None:
    now = timezone.now()
    IntegrityRun.objects.create(
        started_at=now - timedelta(seconds=5), finished_at=now, checks_run=20, checks_failed=1, warnings=3
    )
    CanaryRun.objects.create(
        started_at=now - timedelta(seconds=3), finished_at=now, url="http://127.0.0.1:8000", ok=False,
        failed_step="worker", detail="job 7 is still 'todo' after 10 s (is `crewcall worker` running?)",
    )  # fmt: skip


def test_the_page_shows_the_last_runs_to_admins_only(alice: Any, bob: Any) -> None:
    _record_runs()
    anonymous = Client().get("/operations/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    dispatcher = Client()
    dispatcher.force_login(bob)
    assert dispatcher.get("/operations/").status_code == 403
    admin = Client()
    admin.force_login(alice)
    page = admin.get("/operations/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "95 %" in text and "1 of 20 checks with findings" in text
    assert "failed" in text and "is `crewcall worker` running?" in text
    fragment = admin.get("/operations/", headers={"HX-Request": "true"})
    assert fragment.content.decode().lstrip().startswith('<div id="kpis"')


def test_the_same_figures_are_in_metrics(transactional_db: Any) -> None:
    _record_runs()  # committed: /metrics reads the database on a connection of its own
    answer = Client().get("/metrics")  # from 127.0.0.1
    assert answer.status_code == 200
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(answer.content.decode())
        for sample in family.samples
        if not sample.labels
    }
    assert values["crewcall_integrity_score"] == pytest.approx(0.95)
    assert values["crewcall_canary_last_ok"] == 0
