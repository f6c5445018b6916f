"""Periodic jobs of staffing (procrastinate): they only call the services in automation."""

from __future__ import annotations

from procrastinate.contrib.django import app

from crewcall.core.context import request_context
from crewcall.core.stalled_jobs import RETRY, on_stall
from crewcall.staffing import automation


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
