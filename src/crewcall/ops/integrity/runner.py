"""One integrity run: check (one snapshot), optionally repair and check again, record.

The result is a plain JSON-ready document (`IntegrityOutcome.summary`), which `--json`
prints and `IntegrityRun.summary` keeps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection
from django.utils import timezone

from crewcall.core.context import request_context
from crewcall.core.errors import CrewcallError
from crewcall.ops.audit_seal import audit_seal
from crewcall.ops.integrity.registry import Check, CheckResult, all_checks, run_checks
from crewcall.ops.models import IntegrityRun
from crewcall.ops.services import integrity_run_record

logger = logging.getLogger(__name__)

SAMPLE_IDS = 5


@dataclass
class IntegrityOutcome:
    results: list[CheckResult]
    repaired: list[dict[str, Any]]
    left: list[dict[str, Any]]
    summary: dict[str, Any]
    run: IntegrityRun | None

    @property
    def exit_code(self) -> int:
        return 0 if all(r.passed for r in self.results) else 1


def _repair(results: list[CheckResult]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    repaired: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    done: dict[tuple[Any, str, int | str], str] = {}
    with request_context(source="repair"):
        for result in results:
            repair = result.check.repair
            if repair is None:
                continue
            for finding in result.findings:
                key = (repair, finding.kind, finding.object_id)
                if key in done:  # two checks found the same object, and one fix serves both
                    repaired.append({**finding.as_dict(), "how": f"fixed by the repair for {done[key]}"})
                    continue
                done[key] = finding.check
                try:
                    how = repair(finding)
                except (CrewcallError, DatabaseError) as exc:
                    logger.warning(
                        "integrity repair of %s %s failed: %s", finding.check, finding.object_id, exc
                    )
                    failed.append({**finding.as_dict(), "reason": f"repair failed: {exc}"})
                else:
                    repaired.append({**finding.as_dict(), "how": how})
    return repaired, failed


def _left(results: list[CheckResult], failed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reasons = {(f["check"], f["kind"], f["id"]): f["reason"] for f in failed}
    left = []
    for result in results:
        for finding in result.findings:
            key = (finding.check, finding.kind, finding.object_id)
            reason = reasons.get(key) or result.check.left_because or "still found after its repair"
            left.append({**finding.as_dict(), "reason": reason})
    return left


def _check_doc(result: CheckResult) -> dict[str, Any]:
    check = result.check
    return {
        "id": check.id,
        "severity": check.severity,
        "description": check.description,
        "repairable": check.repair is not None,
        "count": result.total,
        "sample_ids": [f.object_id for f in result.findings[:SAMPLE_IDS]],
        "findings": [f.as_dict() for f in result.findings],
    }


def integrity_run(
    *, repair: bool = False, checks: list[Check] | None = None, params: dict[str, Any] | None = None,
    record: bool = True,
) -> IntegrityOutcome:  # fmt: skip
    started = timezone.now()
    checks = checks if checks is not None else all_checks()
    if not connection.in_atomic_block:
        audit_seal()  # the chains are verified up to the newest row that can be sealed
    first = run_checks(checks, params)
    results = first
    repaired: list[dict[str, Any]] = []
    left: list[dict[str, Any]] = []
    if repair and any(r.findings and r.check.repair for r in first):
        repaired, failed = _repair(first)
        results = run_checks(checks, params)  # what is left, from a fresh snapshot
        left = _left(results, failed)
    elif repair:
        left = _left(results, [])
    failing = [r for r in results if not r.passed]
    summary: dict[str, Any] = {
        "started_at": started.isoformat(),
        "repair": repair,
        "clean": not failing,
        "checks_run": [c.id for c in checks],
        "findings": [_check_doc(r) for r in failing],
        "found_before_repair": {r.check.id: r.total for r in first if not r.passed} if repair else None,
        "repaired": repaired,
        "left": left,
        "totals": {
            "checks_run": len(checks),
            "checks_failed": len(failing),
            "errors": sum(r.total for r in failing if r.check.severity == "error"),
            "warnings": sum(r.total for r in failing if r.check.severity == "warning"),
            "repaired": len(repaired),
            "left": len(left),
        },
    }
    summary["score"] = round((len(checks) - len(failing)) / len(checks), 4) if checks else 1.0
    finished = timezone.now()
    summary["finished_at"] = finished.isoformat()
    run = None
    if record:
        run = integrity_run_record(started_at=started, finished_at=finished, repair=repair, summary=summary)
    return IntegrityOutcome(results=results, repaired=repaired, left=left, summary=summary, run=run)


def render_table(summary: dict[str, Any]) -> str:
    """The human report: findings grouped by severity, then what --repair did and left."""
    lines: list[str] = []
    totals = summary["totals"]
    for severity in ("error", "warning"):
        rows = [f for f in summary["findings"] if f["severity"] == severity]
        if not rows:
            continue
        lines.append(f"{severity.upper()}S")
        width = max(len(r["id"]) for r in rows)
        lines.append(f"  {'check':<{width}}  {'count':>5}  {'sample ids':<24}  message")
        for r in rows:
            sample = ", ".join(str(i) for i in r["sample_ids"])
            lines.append(f"  {r['id']:<{width}}  {r['count']:>5}  {sample:<24}  {r['description']}")
        lines.append("")
    if summary["repair"]:
        lines.append(f"REPAIRED {totals['repaired']}")
        for r in summary["repaired"]:
            lines.append(f"  {r['check']}  {r['kind']} {r['id']}: {r['how']}")
        lines.append(f"LEFT FOR A HUMAN {totals['left']}")
        for r in summary["left"]:
            lines.append(f"  {r['check']}  {r['kind']} {r['id']}: {r['problem']} — {r['reason']}")
        lines.append("")
    failed = f"{totals['checks_failed']} of {totals['checks_run']} checks found problems"
    verdict = "clean" if summary["clean"] else failed
    lines.append(
        f"{totals['checks_run']} checks run; {verdict}; {totals['errors']} errors, "
        f"{totals['warnings']} warnings; consistency score {summary['score']:.0%}"
    )
    return "\n".join(lines)
