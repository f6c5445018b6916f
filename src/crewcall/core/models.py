"""Shared model parts. Tables live in the domain apps; this app owns cross-cutting SQL."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class Versioned(models.Model):
    """created_at, updated_at and version, all kept by the database (trigger
    `crewcall_row_version`): whatever the code sends, an insert starts at version 1 and
    every update adds one, so no code path can forget or fake it."""

    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)
    version = models.PositiveIntegerField(db_default=1, editable=False)

    class Meta:
        abstract = True

    def refresh_version(self) -> None:
        self.refresh_from_db(fields=["version", "updated_at", "created_at"])


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` of one caller: claimed before the request runs, marked
    `committed` inside the transaction of the write it caused, and holding the answer
    once it is `done` (core/idempotency.py explains the states)."""

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        COMMITTED = "committed"
        DONE = "done"

    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    claim = models.CharField(max_length=32)
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_FLIGHT)
    status = models.PositiveSmallIntegerField(null=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField(null=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    claimed_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="core_idempotencykey__key__unique"),
            models.CheckConstraint(
                condition=models.Q(state__in=["in_flight", "committed", "done"]),
                name="core_idempotencykey__state__known",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="core_idempotencykey_created")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} ({self.state})"


class PrivilegedCall(models.Model):
    """One call of a `SECURITY DEFINER` function: the few writes the runtime role may not
    make itself (erasure, retention of append-only rows, the epoch after a restore) run as
    the owner through such a function, and each leaves this row (written by
    `crewcall_privileged_call_record`; the runtime role may only read it)."""

    at = models.DateTimeField(db_default=Now(), editable=False)
    function = models.CharField(max_length=100)
    arguments = models.JSONField(default=dict)
    affected = models.BigIntegerField(default=0)
    session_role = models.CharField(max_length=100)

    class Meta:
        indexes = [models.Index(fields=["at"], name="core_privilegedcall_at")]

    def __str__(self) -> str:
        return f"{self.function} at {self.at:%Y-%m-%d %H:%M:%S}"
