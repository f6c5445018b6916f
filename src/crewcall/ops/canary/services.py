"""The canary's own credentials: a `canary` account (dispatcher, no password, so it can
never sign in to the pages) and a token that lives for one audit run."""

from __future__ import annotations

from crewcall.accounts.models import ApiToken, User
from crewcall.accounts.services import NewToken, token_create, token_revoke, user_create
from crewcall.core.transactions import service
from crewcall.ops.canary.run import Report
from crewcall.ops.models import CanaryRun

CANARY_USERNAME = "canary"


def canary_token_issue() -> NewToken:
    """A fresh token for the canary account, made on first use (each write its own service)."""
    user = User.objects.filter(username=CANARY_USERNAME).first()
    if user is None:
        user = user_create(actor=None, username=CANARY_USERNAME, role="dispatcher")
    if not user.is_active or user.role not in ("dispatcher", "admin"):
        raise ValueError(
            f"the {CANARY_USERNAME!r} account is deactivated or lacks the dispatcher role; "
            "pass --token, or restore the account"
        )
    return token_create(actor=None, user_id=user.pk, name="canary audit run")


def canary_token_revoke(*, token_id: int) -> ApiToken:
    return token_revoke(actor=None, token_id=token_id)


@service
def canary_run_record(*, report: Report) -> CanaryRun:
    failed = report.failed
    return CanaryRun.objects.create(
        started_at=report.started_at,
        finished_at=report.finished_at or report.started_at,
        url=report.url[:500],
        ok=report.ok,
        failed_step=failed.name if failed else ("" if report.ok else "none"),
        detail=failed.detail if failed else "",
        report=report.as_dict(),
    )
