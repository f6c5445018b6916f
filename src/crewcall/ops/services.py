"""Writes of the ops app: the record of each integrity run.

The integrity repairs are each app's own (its `integrity` module, core/integrity.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crewcall.core.transactions import service
from crewcall.ops.models import IntegrityRun


@service
def integrity_run_record(
    *,
    actor: Any = None,
    started_at: datetime,
    finished_at: datetime,
    repair: bool,
    summary: dict[str, Any],
) -> IntegrityRun:
    totals = summary["totals"]
    return IntegrityRun.objects.create(
        started_at=started_at,
        finished_at=finished_at,
        repair=repair,
        checks_run=totals["checks_run"],
        checks_failed=totals["checks_failed"],
        errors=totals["errors"],
        warnings=totals["warnings"],
        repaired=totals["repaired"],
        left=totals["left"],
        summary=summary,
    )
