"""`/ops/canary-jobs`: the worker check of the canary audit (`crewcall audit`).

The audit defers a job that does nothing and polls until a worker has run it: a job that
stays `todo` means no worker takes jobs."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from procrastinate.contrib.django.models import ProcrastinateJob

from crewcall.core.api.auth import allow
from crewcall.core.api.problems import ON_OBJECT, ON_WRITE, ApiProblem, documented
from crewcall.ops.tasks import canary_echo

router = Router(tags=["operations"])


class CanaryJobOut(Schema):
    id: int
    status: str
    nonce: str
    scheduled_at: dt.datetime | None
    attempts: int


def _job_out(job: ProcrastinateJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "nonce": str(job.args.get("nonce", "")),
        "scheduled_at": job.scheduled_at,
        "attempts": job.attempts,
    }


@router.post(
    "/ops/canary-jobs",
    response=documented({201: CanaryJobOut}, ON_WRITE),
    auth=allow("dispatcher"),
    summary="Defer a no-op job for the canary audit",
    description="The job only succeeds; poll `GET /ops/canary-jobs/{id}` until its status is "
    "`succeeded` (a worker ran it) or give up (no worker is taking jobs).",
)
def canary_job_create(request: HttpRequest) -> Any:
    job_id = canary_echo.defer(nonce=secrets.token_hex(8))
    return Status(201, _job_out(ProcrastinateJob.objects.get(pk=job_id)))


@router.get(
    "/ops/canary-jobs/{job_id}",
    response=documented({200: CanaryJobOut}, ON_OBJECT),
    auth=allow("dispatcher"),
    summary="A canary job's status",
)
def canary_job_get(request: HttpRequest, job_id: int) -> Any:
    job = ProcrastinateJob.objects.filter(pk=job_id, task_name=canary_echo.name).first()
    if job is None:
        raise ApiProblem(404, "not_found", f"There is no canary job {job_id}.")
    return _job_out(job)
