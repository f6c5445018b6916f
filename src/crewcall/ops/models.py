"""Records of operations runs. One row per `crewcall integrity` run (the KPI page reads
the consistency score of the last one)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class IntegrityRun(models.Model):
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    repair = models.BooleanField(default=False)
    checks_run = models.PositiveIntegerField()
    checks_failed = models.PositiveIntegerField()  # checks with findings after any repair
    errors = models.PositiveIntegerField(default=0)  # findings of error checks (final)
    warnings = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    left = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(checks_failed__lte=models.F("checks_run")),
                name="ops_integrityrun__checks_failed__within_run",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__gte=models.F("started_at")),
                name="ops_integrityrun__finished_at__after_start",
            ),
        ]
        indexes = [models.Index(fields=["-started_at"], name="ops_integrityrun_started")]

    def __str__(self) -> str:
        failed = f"{self.checks_failed}/{self.checks_run} failed"
        return f"integrity run {self.started_at:%Y-%m-%d %H:%M} ({failed})"

    @property
    def score(self) -> float:
        """Share of checks that passed, 0..1."""
        if not self.checks_run:
            return 1.0
        return (self.checks_run - self.checks_failed) / self.checks_run


class CanaryRun(models.Model):
    """One canary audit (`crewcall audit`, or the scheduled job): the KPI page shows the last."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    url = models.CharField(max_length=500)
    ok = models.BooleanField()
    failed_step = models.CharField(max_length=40, blank=True, default="")
    detail = models.TextField(blank=True, default="")
    report = models.JSONField(default=dict)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(finished_at__gte=models.F("started_at")),
                name="ops_canaryrun__finished_at__after_start",
            ),
            models.CheckConstraint(
                condition=Q(ok=True, failed_step="") | Q(ok=False) & ~Q(failed_step=""),
                name="ops_canaryrun__failed_step__named_when_failed",
            ),
        ]
        indexes = [models.Index(fields=["-started_at"], name="ops_canaryrun_started")]

    def __str__(self) -> str:
        outcome = "passed" if self.ok else f"failed at {self.failed_step}"
        return f"canary {self.started_at:%Y-%m-%d %H:%M} {outcome}"
