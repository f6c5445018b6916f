"""The integrity checks' shape (docs/integrity.md), for every app to declare its own.

A check is a read-only SQL query returning one row per finding:
`(object_kind, object_id, problem, expected, found)`, set-based, or a `scan` that no single
query can make. Where a finding is safely fixable, the check names a repair: a function
of the finding that fixes it in its own transaction (a @service) and says what it did.

A repair runs under `request_context(source="repair")`, so every history row and change
it causes carries source "repair"; it returns what it did, or raises (an error of
crewcall.core.errors, a database refusal) with the reason it could not, and the runner
leaves the finding for a human. No repair deletes history.

Each app registers its checks and repairs in its own `integrity` module; ops discovers
those modules, runs every check in one snapshot, repairs and records (ops/integrity/). The
kernel's one repair lives here, since checks of several apps name it: resnapshot a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import pghistory.models
from django.apps import apps
from django.db import connection
from django.utils.translation import gettext as _

from crewcall.core.errors import NotFound, RuleViolation
from crewcall.core.transactions import service

Severity = Literal["error", "warning"]
FINDINGS_CAP = 1000

# Parameters every query may use (psycopg named placeholders).
DEFAULT_PARAMS: dict[str, Any] = {"stuck_minutes": 15}


@dataclass(frozen=True)
class Finding:
    check: str
    kind: str
    object_id: int | str
    problem: str
    expected: str | None = None
    found: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "kind": self.kind,
            "id": self.object_id,
            "problem": self.problem,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass(frozen=True)
class Check:
    id: str
    severity: Severity
    description: str
    sql: str = ""
    # A check no single query can make (the audit chains): (total, first findings) from
    # the parameters, read inside the run's snapshot.
    scan: Callable[[dict[str, Any]], tuple[int, list[Finding]]] | None = None
    # Fixes one finding in its own transaction, or raises with the reason it could not.
    repair: Callable[[Finding], str] | None = None
    # For a check without repair: why a human has to decide.
    left_because: str = ""


REGISTRY: dict[str, Check] = {}


def register(check: Check) -> Check:
    if check.id in REGISTRY:
        raise ValueError(f"integrity check {check.id!r} registered twice")
    if check.repair is None and not check.left_because:
        raise ValueError(f"integrity check {check.id!r} needs a repair or a reason to leave it")
    REGISTRY[check.id] = check
    return check


def union_all(parts: list[str]) -> str:
    """One query of several checks' parts (per table, say)."""
    return "\nUNION ALL\n".join(parts)


def finding_int_id(finding: Finding) -> int:
    return int(finding.object_id)


def repair_of_row(repair: Callable[..., str], argument: str) -> Callable[[Finding], str]:
    """The repair of a finding whose object id is the row a service repairs, passed to it
    as `argument`."""

    def repair_finding(finding: Finding) -> str:
        return repair(**{argument: finding_int_id(finding)})

    return repair_finding


@cache
def tracked_tables() -> list[tuple[str, str, bool]]:
    """(table, history table, has a version column) for every history-tracked table."""
    found: list[tuple[str, str, bool]] = []
    for model in apps.get_models():
        if issubclass(model, pghistory.models.Event) and hasattr(model, "pgh_tracked_model"):
            tracked = model.pgh_tracked_model
            if tracked is None:
                continue
            versioned = any(f.name == "version" for f in tracked._meta.concrete_fields)
            found.append((tracked._meta.db_table, model._meta.db_table, versioned))
    return sorted(found)


@service
def repair_row_resnapshot(*, actor: Any = None, table: str, row_id: int) -> str:
    """Touch the row: its triggers give it a new version and record its whole current
    state in the history and on the change feed (both with source "repair")."""
    versioned = {t for t, _h, v in tracked_tables() if v}
    if table not in versioned:
        raise RuleViolation(
            field="table",
            message=_("%(table)s has no version to resnapshot.") % {"table": table},
            constraint="repair",
        )
    with connection.cursor() as cur:
        # The table name is one of the tracked tables, checked above.
        cur.execute(f"UPDATE {table} SET updated_at = updated_at WHERE id = %s", [row_id])  # noqa: S608
        if cur.rowcount != 1:
            raise NotFound(_("%(table)s %(id)s does not exist") % {"table": table, "id": row_id})
    return "recorded the row's current state (new version)"


def row_resnapshot(finding: Finding) -> str:
    # The finding's kind is the table (the audit and change-log checks report it so).
    return repair_row_resnapshot(table=finding.kind, row_id=finding_int_id(finding))
