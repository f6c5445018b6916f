"""Integrity checks of messages and the jobs that move them (docs/integrity.md), and their
repairs, registered for `crewcall integrity`."""

from __future__ import annotations

from typing import Any

from django.db import connection

from crewcall.core.integrity import Check, Finding, register, repair_of_row
from crewcall.core.transactions import service
from crewcall.messaging.inbound import defer_apply
from crewcall.messaging.outbox import defer_send

# A job that will still run: waiting or running.
_LIVE_JOB = "j.status IN ('todo', 'doing')"
# No such job of the message `m`'s sending will run.
_NO_SEND_JOB = f"""NOT EXISTS (SELECT 1 FROM procrastinate_jobs j
                  WHERE j.task_name = 'messaging.send_message' AND {_LIVE_JOB}
                    AND j.args ->> 'message_id' = m.id::text)"""  # noqa: S608 - constants


@service
def repair_message_requeue(*, actor: Any = None, message_id: int) -> str:
    defer_send(message_id)
    return "deferred a send job (it reconciles a claimed message before resending)"


message_requeue = repair_of_row(repair_message_requeue, "message_id")


@service
def repair_inbound_apply_job(*, actor: Any = None) -> str:
    return "deferred an apply job" if defer_apply() else "an apply job is already waiting"


def inbound_apply_job(finding: Finding) -> str:
    return repair_inbound_apply_job()


@service
def repair_job_cancel(*, actor: Any = None, job_id: int) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT procrastinate_cancel_job_v1(%s, false, false)", [job_id])
    return "cancelled the job"


register(
    Check(
        id="message.queued_without_job",
        severity="warning",
        description="A queued outbound message has been due for longer than the stuck limit and "
        "no send job is waiting for it: it will never go out.",
        sql=f"""
        SELECT 'outbound_message', m.id, 'queued with no send job', 'a waiting send job', 'none'
        FROM messaging_outboundmessage m
        WHERE m.status = 'queued'
          AND COALESCE(m.next_attempt_at, m.created_at) < now() - make_interval(mins => %(stuck_minutes)s)
          AND {_NO_SEND_JOB}
        """,  # noqa: S608 - a constant fragment
        repair=message_requeue,
    )
)


register(
    Check(
        id="message.stuck_sending",
        severity="warning",
        description="An outbound message has been claimed for sending longer than the stuck limit "
        "and no send job is waiting to reconcile it.",
        sql=f"""
        SELECT 'outbound_message', m.id, 'stuck in sending', 'sent or failed',
               'sending since ' || to_char(m.claimed_at, 'YYYY-MM-DD HH24:MI:SS TZ')
        FROM messaging_outboundmessage m
        WHERE m.status = 'sending'
          AND COALESCE(m.claimed_at, m.updated_at) < now() - make_interval(mins => %(stuck_minutes)s)
          AND {_NO_SEND_JOB}
        """,  # noqa: S608 - a constant fragment
        repair=message_requeue,
    )
)

# Since this migration the attempt count follows its rule (docs/messaging.md, "Attempts");
# history written before it may show the refunds of maybe-taken calls it stopped.
ATTEMPTS_RULE_MIGRATION = ("messaging", "0005_attempts_past_queued")


ATTEMPTS_FOLLOW_CLAIMS = register(
    Check(
        id="message.attempts_follow_claims",
        severity="error",
        description="An outbound message's attempt count changed other than by one more on a claim "
        "(into sending, under a new claim) or one less when that claim was released unsent "
        "(sending to queued); or a message started with attempts counted.",
        sql=f"""
        SELECT DISTINCT ON (c.id) 'outbound_message', c.id, 'attempts changed outside a claim or a release',
               '+1 on a claim, -1 on a release to queued, else unchanged',
               'version ' || c.version || ': ' || COALESCE(c.prev_status || ' ' || c.prev_attempts, 'new')
               || ' -> ' || c.status || ' ' || c.attempts
        FROM (SELECT h.pgh_obj_id AS id, h.version, h.pgh_created_at, h.pgh_context ->> 'source' AS source,
                     h.status, h.attempts, h.claimed_at,
                     lag(h.status) OVER w AS prev_status, lag(h.attempts) OVER w AS prev_attempts,
                     lag(h.claimed_at) OVER w AS prev_claimed_at
              FROM messaging_outboundmessagehistory h
              WHERE h.pgh_label IN ('insert', 'update')
              WINDOW w AS (PARTITION BY h.pgh_obj_id ORDER BY h.version)) c
        WHERE c.pgh_created_at >= COALESCE(
                (SELECT max(applied) FROM django_migrations
                 WHERE app = '{ATTEMPTS_RULE_MIGRATION[0]}' AND name = '{ATTEMPTS_RULE_MIGRATION[1]}'),
                '-infinity')
          AND CASE
              WHEN c.prev_attempts IS NULL THEN c.attempts <> 0
              WHEN c.attempts = c.prev_attempts THEN false
              -- the data fix of that migration: a message past queued had counted nothing
              WHEN c.source = 'repair' AND c.prev_attempts = 0 AND c.attempts = 1 THEN
                  NOT (c.status = c.prev_status AND c.status <> 'queued')
              -- a claim: from queued, or a resend after reconciling, under a new claim
              WHEN c.attempts = c.prev_attempts + 1 THEN
                  NOT (c.status = 'sending' AND c.claimed_at IS DISTINCT FROM c.prev_claimed_at)
              -- a release that gives its own attempt back
              WHEN c.attempts = c.prev_attempts - 1 THEN
                  NOT (c.prev_status = 'sending' AND c.status = 'queued')
              ELSE true
          END
        ORDER BY c.id, c.version
        """,  # noqa: S608 - constants
        left_because="The history is kept as it was written; how many calls were really made is "
        "read from the provider's log and the message's history by a human.",
    )
)


register(
    Check(
        id="inbound.never_applied",
        severity="warning",
        description="An inbound reply has waited longer than the stuck limit to be applied and no "
        "apply job is waiting.",
        sql=f"""
        SELECT 'inbound_message', m.id, 'reply never applied', 'applied', m.outcome
        FROM messaging_inboundmessage m
        WHERE m.outcome = 'pending'
          AND m.received_at < now() - make_interval(mins => %(stuck_minutes)s)
          AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j
                          WHERE j.task_name = 'messaging.apply_inbound' AND {_LIVE_JOB})
        """,  # noqa: S608 - a constant fragment
        repair=inbound_apply_job,
    )
)


register(
    Check(
        id="message.json_shapes",
        severity="warning",
        description="Outbound template_variables must be a JSON object of text values; an inbound "
        "message's raw webhook must be a JSON object.",
        sql="""
        SELECT 'outbound_message', m.id, 'template_variables is not an object', 'object',
               jsonb_typeof(m.template_variables)
        FROM messaging_outboundmessage m WHERE jsonb_typeof(m.template_variables) <> 'object'
        UNION ALL
        SELECT 'outbound_message', m.id, 'template variable ' || v.key || ' is not text', 'string',
               jsonb_typeof(v.value)
        FROM messaging_outboundmessage m, jsonb_each(m.template_variables) v
        WHERE jsonb_typeof(m.template_variables) = 'object' AND jsonb_typeof(v.value) <> 'string'
        UNION ALL
        SELECT 'inbound_message', m.id, 'raw is not an object', 'object', jsonb_typeof(m.raw)
        FROM messaging_inboundmessage m WHERE jsonb_typeof(m.raw) <> 'object'
        """,
        left_because="A sent message's record is kept as it was; the variables are only a record of "
        "the text, which is stored whole.",
    )
)


register(
    Check(
        id="jobs.point_at_nothing",
        severity="warning",
        description="A waiting job names a message that does not exist.",
        sql="""
        SELECT 'job', j.id, j.task_name || ' for missing message ' || (j.args ->> 'message_id'),
               'an existing message', 'none'
        FROM procrastinate_jobs j
        WHERE j.status = 'todo'
          AND j.task_name IN ('messaging.send_message', 'messaging.simulate_delivery')
          AND NOT EXISTS (SELECT 1 FROM messaging_outboundmessage m
                          WHERE m.id::text = j.args ->> 'message_id')
        """,
        repair=repair_of_row(repair_job_cancel, "job_id"),
    )
)
