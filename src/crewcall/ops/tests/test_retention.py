"""Retention of run records: integrity and canary runs older than RUN_RECORDS_KEEP_DAYS go,
younger ones stay, and the newest of each kind stays however old (the KPI page reads it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from crewcall.ops import retention, tasks
from crewcall.ops.metrics import LAST_CANARY_SQL, LAST_INTEGRITY_SQL
from crewcall.ops.models import CanaryRun, IntegrityRun
from crewcall.ops.selectors import integrity_last_run
from crewcall.testing.history_counts import history_state
from crewcall.testing.sql import run

pytestmark = pytest.mark.django_db(transaction=True)


def integrity_run(days_old: float, *, failed: int = 0) -> int:
    started = timezone.now() - timedelta(days=days_old)
    return IntegrityRun.objects.create(
        started_at=started, finished_at=started + timedelta(seconds=3), checks_run=20, checks_failed=failed
    ).pk


def canary_run(days_old: float, *, ok: bool = True) -> int:
    started = timezone.now() - timedelta(days=days_old)
    return CanaryRun.objects.create(
        started_at=started, finished_at=started + timedelta(seconds=2), url="http://127.0.0.1:8000",
        ok=ok, failed_step="" if ok else "stream",
    ).pk  # fmt: skip


def ids(model: Any) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


def cutoff(days: int = 90) -> Any:
    return timezone.now() - timedelta(days=days)


def test_old_runs_go_young_ones_stay_and_the_history_is_untouched() -> None:
    old = [integrity_run(200), integrity_run(91), canary_run(120), canary_run(95)]
    young = {integrity_run(89), integrity_run(1)}
    young_canary = {canary_run(30)}
    history_before = history_state()

    assert retention.run_records_prune(older_than=cutoff()) == len(old)

    assert ids(IntegrityRun) == young
    assert ids(CanaryRun) == young_canary
    assert history_state() == history_before


def test_the_newest_run_of_each_kind_stays_however_old() -> None:
    integrity_run(300)
    newest_integrity = integrity_run(200, failed=2)
    canary_run(400)
    newest_canary = canary_run(150, ok=False)

    assert retention.run_records_prune(older_than=cutoff()) == 2

    assert ids(IntegrityRun) == {newest_integrity}
    assert ids(CanaryRun) == {newest_canary}
    last = integrity_last_run()
    assert last is not None and last.pk == newest_integrity and last.score == 0.9
    assert run(LAST_INTEGRITY_SQL)[0][2] == 0.9  # /metrics and the KPI page still have a score
    assert run(LAST_CANARY_SQL)[0][0] is False
    assert retention.run_records_prune(older_than=cutoff()) == 0


def test_a_batch_removes_at_most_its_size() -> None:
    for days in range(100, 106):
        integrity_run(days)
    integrity_run(1)
    batch = retention.run_records_prune_batch
    assert batch(table="ops_integrityrun", older_than=cutoff(), batch_size=2) == 2
    assert retention.run_records_prune(older_than=cutoff(), batch_size=2, max_batches=1) == 2
    assert IntegrityRun.objects.count() == 3
    with pytest.raises(ValueError, match="not a run record table"):
        batch(table="staffing_invitation", older_than=cutoff())


def test_the_periodic_job_uses_the_configured_window(settings: Any) -> None:
    settings.RUN_RECORDS_KEEP_DAYS = 10
    integrity_run(11)
    kept = {integrity_run(9), integrity_run(0)}
    assert tasks.prune_run_records(timestamp=0) == 1
    assert ids(IntegrityRun) == kept
