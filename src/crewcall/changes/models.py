"""The change feed: one row per inserted, updated or deleted domain row (docs/changes.md).

Tables only. Rows are written by the trigger function `changes_record` (migration
changes.0001) in the same transaction as the change itself, so no code path can skip
them; they are read by changes.selectors and pruned by changes.services. See
docs/changes.md for the cursor and why it is safe against late commits.
"""

from __future__ import annotations

from typing import Any

import pgtrigger
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class TransactionIdField(models.Field):
    """PostgreSQL `xid8`: a 64-bit transaction id that never wraps around, read as int."""

    description = "PostgreSQL 64-bit transaction id (xid8)"

    def db_type(self, connection: Any) -> str:
        return "xid8"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> int | None:
        return None if value is None else int(value)

    def to_python(self, value: Any) -> int | None:
        return None if value is None else int(value)


class CurrentTransactionId(models.Func):
    """pg_current_xact_id(): the writing transaction's top-level id (assigned on first use)."""

    function = "pg_current_xact_id"
    template = "%(function)s()"
    output_field = TransactionIdField()


class Operation(models.TextChoices):
    INSERT = "I", "insert"
    UPDATE = "U", "update"
    DELETE = "D", "delete"


class Change(models.Model):
    """One row changed. Ordered by (xid, seq): `seq` orders changes inside a transaction,
    `xid` orders transactions so that a reader can stop at the horizon of transactions
    still running (a bare seq is not a safe cursor: a late commit can carry a lower one)."""

    seq = models.BigAutoField(primary_key=True)
    xid = TransactionIdField(db_default=CurrentTransactionId(), editable=False)
    table_name = models.TextField()
    op = models.CharField(max_length=1, choices=Operation.choices)
    row_id = models.BigIntegerField()  # the changed row's primary key
    # The row's version after the change (its last version for a delete); NULL for
    # tables without one (link tables, users).
    version = models.IntegerField(null=True)
    # Scope keys for filtering; NULL when the row belongs to no event / no employee.
    event_id = models.BigIntegerField(null=True)
    employee_id = models.BigIntegerField(null=True)
    # Set on the second change an update writes when the row leaves a scope: the keys it left
    # ("event", "employee"); event_id and employee_id then hold the row's old scope.
    scope_left = ArrayField(models.TextField(), null=True)
    # From the history context of the writing transaction (NULL for raw SQL without one).
    actor_id = models.BigIntegerField(null=True)
    source = models.TextField(null=True)  # noqa: DJ001 (NULL: no context, not "")
    request_id = models.TextField(null=True)  # noqa: DJ001
    # When the statement that made the change started (statement_timestamp()): changes of one
    # statement share it, later statements of the same transaction have later times.
    at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        indexes = [models.Index(fields=["xid", "seq"], name="changes_change_xid_seq")]
        constraints = [
            models.CheckConstraint(condition=Q(op__in=Operation.values), name="changes_change__op__known"),
        ]
        triggers = [
            # Append-only: rows are written by the trigger and removed only by retention.
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update),
        ]

    def __str__(self) -> str:
        return f"{self.table_name}#{self.row_id} {self.op} ({self.xid}, {self.seq})"


class Feed(models.Model):
    """The feed's one row: its epoch and retention watermark.

    Unmanaged (created by migration changes.0001 with its row): Django's test flush
    must not empty it. `epoch` is random per database; a restore replaces it, so cursors
    from before the restore are answered with `reset`. (`pruned_xid`, `pruned_seq`) is
    the highest change deleted by retention: a cursor below it asks for lost history.
    """

    id = models.BooleanField(primary_key=True, default=True)
    epoch = models.TextField()
    pruned_xid = TransactionIdField(null=True)
    pruned_seq = models.BigIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "changes_feed"

    def __str__(self) -> str:
        return f"change feed {self.epoch}"
