"""Check of the job queue: no job stays `doing` after its worker died."""

from __future__ import annotations

from django.conf import settings

from crewcall.core.integrity import Check, Finding, register
from crewcall.core.stalled_jobs import jobs_recover_stalled, stalled_jobs_sql


def stalled_job_recover(finding: Finding) -> str:
    """Retry the job, or fail it when its task is not safe to run again (core/stalled_jobs.py)."""
    recovered = jobs_recover_stalled(stalled_s=settings.WORKER_STALLED_S, job_ids=[int(finding.object_id)])
    if not recovered:
        return "nothing to do: it has ended or its worker is alive again"
    return f"job {recovered[0].outcome}"


register(
    Check(
        id="jobs.doing_without_worker",
        severity="warning",
        description="A job is `doing` but its worker is gone or has sent no heartbeat for longer than "
        "the stuck limit: nothing will ever finish it.",
        sql=f"""
        SELECT 'job', s.id,
               s.task_name || ' doing with ' ||
                   CASE WHEN s.worker_id IS NULL THEN 'no worker' ELSE 'dead worker ' || s.worker_id END,
               'a live worker',
               CASE WHEN s.heartbeat_age IS NULL THEN 'no heartbeat'
                    ELSE 'last heartbeat ' || round(s.heartbeat_age) || ' s ago' END
        FROM ({stalled_jobs_sql("%(stuck_minutes)s * 60")}) AS s
        """,  # noqa: S608 - constant SQL
        repair=stalled_job_recover,
    )
)
