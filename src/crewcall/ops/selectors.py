"""Reads of operations records."""

from __future__ import annotations

from crewcall.ops.models import IntegrityRun


def integrity_last_run() -> IntegrityRun | None:
    """The newest integrity run (its `score` is the data consistency score), or None."""
    return IntegrityRun.objects.order_by("-started_at", "-id").first()
