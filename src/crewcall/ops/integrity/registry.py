"""Every app's integrity checks, found, and the read of all of them from one snapshot.

The check shape is the kernel's (core/integrity.py); each app registers its own checks in
its `integrity` module, which all_checks() imports. Queries are set-based (joins and
aggregates, no per-row Python), and each returns at most FINDINGS_CAP rows plus the exact
total. Where a finding is safely fixable, the check names a repair, which the runner calls
once per finding, each in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from crewcall.core.app_modules import app_modules
from crewcall.core.integrity import DEFAULT_PARAMS, FINDINGS_CAP, REGISTRY, Check, Finding


@dataclass
class CheckResult:
    check: Check
    total: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.total == 0


def all_checks() -> list[Check]:
    # Importing each app's `integrity` module registers its checks.
    app_modules(name="integrity")
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
