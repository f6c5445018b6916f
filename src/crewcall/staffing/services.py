"""Every write to invitations and the work log (@service: one transaction each).

Asking by the fair picker and sending over WhatsApp arrive with the messaging issue;
these are the state changes they will call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pghistory
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.accounts.models import User
from crewcall.core.errors import NotFound, RuleViolation, ValidationFailed
from crewcall.core.transactions import service
from crewcall.core.versioning import apply_changes, get_or_not_found, lock_current
from crewcall.events.models import Event
from crewcall.people.models import Employee
from crewcall.staffing.answers import (
    ANSWERABLE,
    Outcome,
    answer_invitation,
    lock_event_for_answers,
    queue_answer_reply,
)
from crewcall.staffing.event_lifecycle import event_sync_staffing_status
from crewcall.staffing.models import (
    INVITATION_TRANSITIONS,
    Invitation,
    InvitationStatus,
    ResponseMethod,
    WorkLog,
)

ANSWERS = {InvitationStatus.ACCEPTED, InvitationStatus.DECLINED, InvitationStatus.WAITLISTED}


@service
def invitation_create(
    *, actor: User | None, event_id: int, employee_id: int, wave: int = 1, pick_reason: str = ""
) -> Invitation:
    event = get_or_not_found(Event, pk=event_id)
    employee = get_or_not_found(Employee, pk=employee_id)
    if not employee.is_active:
        raise ValidationFailed.single("employee", _("An archived employee cannot be invited."))
    invitation = Invitation(event=event, employee=employee, wave=wave, pick_reason=pick_reason)
    invitation.save()
    invitation.refresh_from_db()
    return invitation


@service
def invitation_set_status(
    *,
    actor: User | None,
    invitation_id: int,
    expected_version: int | None,
    status: str,
    method: str = ResponseMethod.MANUAL,
    note: str = "",
) -> Invitation:
    """Record an answer or a change of standing; the event's recruiting/staffed status
    follows the number of acceptances. The event row is locked first (fixed order:
    event, then invitation) so two answers to one event cannot both miss the flip.
    A dispatcher's `note` (why they changed it by hand) goes into the audit context:
    the invitation has no column for it, and it belongs to this change, not the row."""
    if note:
        pghistory.context(note=note)
    current = get_or_not_found(Invitation, pk=invitation_id)
    event = get_or_not_found(Event, pk=current.event_id, lock=True)
    invitation = lock_current(Invitation, pk=invitation_id, expected_version=expected_version)
    if status not in INVITATION_TRANSITIONS.get(invitation.status, frozenset()):
        raise ValidationFailed.single(
            "status",
            _("An invitation cannot go from %(from)s to %(to)s.") % {"from": invitation.status, "to": status},
        )
    if method not in ResponseMethod.values:
        raise ValidationFailed.single(
            "response_method", _("%(value)s is not a response method.") % {"value": repr(method)}
        )
    if invitation.status == InvitationStatus.ACCEPTED and status == InvitationStatus.CANCELLED:
        from crewcall.staffing.answers import withdraw_acceptance

        withdraw_acceptance(invitation, event, {})
    else:
        changes: dict[str, object] = {"status": status}
        if status in ANSWERS:
            changes.update(responded_at=timezone.now(), response_method=method)
        apply_changes(invitation, changes, allowed={"status", "responded_at", "response_method"})
    event_sync_staffing_status(event)
    return invitation


def _check_times(event: Event, started_at: datetime, ended_at: datetime, break_minutes: int) -> None:
    if timezone.is_naive(started_at) or timezone.is_naive(ended_at):
        raise ValidationFailed.single("started_at", _("Times need a time zone."))
    # Elapsed time in UTC, as the database computes `hours` (a night with a clock change
    # is an hour shorter or longer than the wall clocks say).
    elapsed = (ended_at.astimezone(UTC) - started_at.astimezone(UTC)).total_seconds()
    if elapsed <= 0:
        raise ValidationFailed.single("ended_at", _("The end must be after the start."))
    if elapsed > settings.MAX_SHIFT_HOURS * 3600:
        raise ValidationFailed.single(
            "ended_at",
            _("A shift lasts at most %(hours)s hours (start and end swapped, or a day too many?).")
            % {"hours": settings.MAX_SHIFT_HOURS},
        )
    if break_minutes < 0:
        raise ValidationFailed.single("break_minutes", _("The break cannot be negative."))
    if break_minutes * 60 >= elapsed:
        raise ValidationFailed.single("break_minutes", _("The break must be shorter than the shift."))
    if event.event_date is None:
        raise ValidationFailed.single("event", _("A template has no hours."))
    start_day = timezone.localtime(started_at).date()
    if not (event.event_date - timedelta(days=1) <= start_day <= event.event_date + timedelta(days=1)):
        raise ValidationFailed.single(
            "started_at",
            _("The shift must start around the event's date (%(date)s).") % {"date": event.event_date},
        )
    if started_at > timezone.now():
        raise ValidationFailed.single("started_at", _("Hours are recorded after they were worked."))


@service
def work_log_create(
    *,
    actor: User | None,
    event_id: int,
    employee_id: int,
    started_at: datetime,
    ended_at: datetime,
    break_minutes: int = 0,
    note: str = "",
) -> WorkLog:
    _check_times(get_or_not_found(Event, pk=event_id), started_at, ended_at, break_minutes)
    if not Employee.objects.filter(pk=employee_id).exists():
        raise ValidationFailed.single("employee_id", _("There is no employee %(id)s.") % {"id": employee_id})
    log = WorkLog(
        event_id=event_id,
        employee_id=employee_id,
        started_at=started_at,
        ended_at=ended_at,
        break_minutes=break_minutes,
        note=note,
    )
    log.save()
    log.refresh_from_db()
    return log


@service
def work_log_update(
    *,
    actor: User | None,
    work_log_id: int,
    expected_version: int | None,
    started_at: datetime,
    ended_at: datetime,
    break_minutes: int,
    note: str = "",
) -> WorkLog:
    log = lock_current(WorkLog, pk=work_log_id, expected_version=expected_version)
    changes: dict[str, Any] = {"started_at": started_at, "ended_at": ended_at, "break_minutes": break_minutes}
    if any(changes[name] != getattr(log, name) for name in WORK_LOG_HOURS_FIELDS):
        _refuse_if_approved(log)
        _check_times(log.event, started_at, ended_at, break_minutes)
    apply_changes(log, {**changes, "note": note}, allowed={*changes, "note"})
    log.refresh_from_db(fields=["hours"])
    return log


WORK_LOG_HOURS_FIELDS = ("started_at", "ended_at", "break_minutes")


def _refuse_if_approved(log: WorkLog) -> None:
    # The database refuses it too (staffing 0007); this says so before trying.
    if log.approved_at is not None:
        raise RuleViolation(
            field="approved_at",
            message=_("These hours are approved and locked; reopen them to change them."),
            constraint="staffing_worklog__approved_at__locked",
        )


@service
def work_log_change(
    *, actor: User | None, work_log_id: int, expected_version: int | None, changes: Mapping[str, Any]
) -> WorkLog:
    """Change some fields of an entry (the API's PATCH): the rest keep their values as
    read under the lock. Approved hours are locked (a note still changes); reopen first."""
    log = lock_current(WorkLog, pk=work_log_id, expected_version=expected_version)
    unknown = sorted(set(changes) - {*WORK_LOG_HOURS_FIELDS, "note"})
    if unknown:
        raise ValidationFailed({name: [_("This field cannot be changed here.")] for name in unknown})
    merged = {name: changes.get(name, getattr(log, name)) for name in (*WORK_LOG_HOURS_FIELDS, "note")}
    if any(merged[name] != getattr(log, name) for name in WORK_LOG_HOURS_FIELDS):
        _refuse_if_approved(log)
        _check_times(log.event, merged["started_at"], merged["ended_at"], merged["break_minutes"])
    apply_changes(log, merged, allowed=merged.keys())
    log.refresh_from_db(fields=["hours"])
    return log


@service
def work_log_approve(*, actor: User | None, work_log_id: int, expected_version: int | None) -> WorkLog:
    if actor is None:
        raise ValidationFailed.single("approved_by", _("Approval needs a signed-in person."))
    log = lock_current(WorkLog, pk=work_log_id, expected_version=expected_version)
    apply_changes(
        log, {"approved_by": actor, "approved_at": timezone.now()}, allowed={"approved_by", "approved_at"}
    )
    return log


@service
def work_log_reopen(*, actor: User | None, work_log_id: int, expected_version: int | None) -> WorkLog:
    """Withdraw an approval so the hours can be corrected (and approved again)."""
    log = lock_current(WorkLog, pk=work_log_id, expected_version=expected_version)
    if log.approved_at is None:
        raise RuleViolation(
            field="approved_at",
            message=_("These hours are not approved; there is nothing to reopen."),
            constraint="staffing_worklog__approved_at__reopen",
        )
    apply_changes(log, {"approved_by": None, "approved_at": None}, allowed={"approved_by", "approved_at"})
    return log


@service
def invitation_answer_on_page(
    *, actor: User | None = None, employee_id: int, invitation_id: int, answer: str
) -> tuple[Invitation, Outcome]:
    """An employee's yes or no on their signed personal page (web/personal_pages.py).

    NotFound if the invitation is not this employee's. An acceptance also gets the
    WhatsApp confirmation, as a reply there would."""
    event_id = (
        Invitation.objects.filter(pk=invitation_id, employee_id=employee_id)
        .values_list("event_id", flat=True)
        .first()
    )
    if event_id is None:
        raise NotFound(_("No such invitation."))
    if answer not in ("yes", "no"):
        raise ValueError(f"unknown answer {answer!r}")
    event = lock_event_for_answers(event_id)  # the answer lock, before the invitation
    current = (
        Invitation.objects.select_for_update(of=("self",)).select_related("employee").get(pk=invitation_id)
    )
    if current.status not in ANSWERABLE:
        current.event = event
        answered = current.status in (InvitationStatus.ACCEPTED, InvitationStatus.DECLINED)
        return current, "already" if answered else "closed"
    invitation, outcome = answer_invitation(
        invitation_id=invitation_id,
        answer="yes" if answer == "yes" else "no",
        method=ResponseMethod.WEB,
        event_id=event_id,
    )
    if outcome == "accepted":  # asked/waitlisted → accepted happens once per invitation
        queue_answer_reply(invitation=invitation, outcome=outcome, intent_key=f"web-answer:{invitation.pk}")
    return invitation, outcome
