"""The integrity checks' shape and registry, and the read of all of them from one snapshot.

A check is a read-only SQL query returning one row per finding:
`(object_kind, object_id, problem, expected, found)`. Queries are set-based (joins and
aggregates, no per-row Python), and each returns at most FINDINGS_CAP rows plus the exact
total. Where a finding is safely fixable, the check names a repair (ops.services), which
the runner calls once per finding, each in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import connection, transaction

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


@dataclass
class CheckResult:
    check: Check
    total: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.total == 0


REGISTRY: dict[str, Check] = {}


def register(check: Check) -> Check:
    if check.id in REGISTRY:
        raise ValueError(f"integrity check {check.id!r} registered twice")
    if check.repair is None and not check.left_because:
        raise ValueError(f"integrity check {check.id!r} needs a repair or a reason to leave it")
    REGISTRY[check.id] = check
    return check


def all_checks() -> list[Check]:
    # Importing the domain modules registers their checks.
    from crewcall.ops.integrity import audit, chain, jobs, messaging, staffing  # noqa: F401

    return list(REGISTRY.values())


def _run_one(check: Check, params: dict[str, Any]) -> CheckResult:
    if check.scan is not None:
        total, findings = check.scan(params)
        return CheckResult(check=check, total=total, findings=findings[:FINDINGS_CAP])
    wrapped = (
        "SELECT count(*) OVER (), f.* FROM ("  # noqa: S608 - the check's own constant SQL
        + check.sql
        + ") AS f (object_kind, object_id, problem, expected, found) "
        f"ORDER BY f.object_kind, f.object_id LIMIT {FINDINGS_CAP}"
    )
    with connection.cursor() as cur:
        # Only the query parameters (a scan's, like expected heads, are no SQL values).
        cur.execute(wrapped, {k: params[k] for k in DEFAULT_PARAMS})
        rows = cur.fetchall()
    findings = [
        Finding(
            check=check.id,
            kind=str(kind),
            object_id=int(oid) if isinstance(oid, int) else str(oid),
            problem=str(problem),
            expected=None if expected is None else str(expected),
            found=None if found is None else str(found),
        )
        for _total, kind, oid, problem, expected, found in rows
    ]
    return CheckResult(check=check, total=int(rows[0][0]) if rows else 0, findings=findings)


def run_checks(checks: list[Check], params: dict[str, Any] | None = None) -> list[CheckResult]:
    """Run every check against one consistent snapshot: a REPEATABLE READ, READ ONLY
    transaction. Inside a transaction already (tests), that transaction is the snapshot."""
    merged = {**DEFAULT_PARAMS, **(params or {})}
    if connection.in_atomic_block:
        with transaction.atomic():
            return [_run_one(check, merged) for check in checks]
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return [_run_one(check, merged) for check in checks]
