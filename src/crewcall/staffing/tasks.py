"""Jobs of staffing (procrastinate): the periodic ones only call the services in
automation; `apply_inbound` applies received WhatsApp replies (staffing/replies.py)."""

from __future__ import annotations

from django.db import connection
from procrastinate.contrib.django import app

from crewcall.core.context import request_context
from crewcall.core.stalled_jobs import RETRY, on_stall
from crewcall.messaging.inbound import APPLY_INBOUND_QUEUE, APPLY_INBOUND_TASK, defer_apply
from crewcall.staffing import automation
from crewcall.staffing.replies import inbound_apply_next


@on_stall(RETRY)
@app.periodic(cron="*/5 * * * *", periodic_id="follow-up-waves")
@app.task(queue="staffing", name="staffing.follow_up_waves", queueing_lock="staffing.follow_up_waves")
def follow_up_waves(timestamp: int) -> None:
    with request_context(source="worker"):
        for event_id in automation.events_lagging():
            automation.event_follow_up(event_id=event_id)


@on_stall(RETRY)
@app.periodic(cron="*/5 * * * *", periodic_id="expire-invitations")
@app.task(queue="staffing", name="staffing.expire_invitations", queueing_lock="staffing.expire_invitations")
def expire_invitations(timestamp: int) -> None:
    with request_context(source="worker"):
        automation.invitations_expire()


@on_stall(RETRY)
@app.periodic(cron="0 * * * *", periodic_id="send-reminders")
@app.task(queue="staffing", name="staffing.send_reminders", queueing_lock="staffing.send_reminders")
def send_reminders(timestamp: int) -> None:
    with request_context(source="worker"):
        automation.reminders_send()


# Messages one apply job takes before it hands over to a fresh job (so a long burst does
# not pin one job, and a worker shutting down waits for at most this many).
APPLY_BATCH = 500


@on_stall(RETRY)
@app.periodic(cron="* * * * *", periodic_id="apply_inbound")
@app.task(queue=APPLY_INBOUND_QUEUE, name=APPLY_INBOUND_TASK, queueing_lock=APPLY_INBOUND_TASK)
def apply_inbound(timestamp: int | None = None) -> int:
    """Apply pending inbound messages, oldest first, one transaction each. Deferred by
    messaging's webhook with each message it stores (by the task's name; one waiting job
    at most) and run every minute as a safety net. Several may run at once: each takes a
    different sender's next message."""
    applied = 0
    with request_context(source="worker"):
        try:
            while applied < APPLY_BATCH:
                if inbound_apply_next() is None:
                    break
                applied += 1
            else:
                defer_apply()  # more may be waiting: a fresh job takes them
        finally:
            # Worker threads are pooled, not request-scoped: nothing else closes this.
            if not connection.in_atomic_block:
                connection.close()
    return applied
