"""Hours after the event, on the board: one row per placed person with start, end, break
and note; Save records them (work_log_create, then work_log_update with the entry's
version), Approve approves them (work_log_approve) and locks them until Reopen
(work_log_reopen). htmx posts a row and gets the row
back (with field errors beside the inputs, or the hours the database computed) and the
event's totals out of band; without htmx the board comes back with a message."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crewcall.accounts.requests import SignedInRequest
from crewcall.core.errors import VersionConflict
from crewcall.events.models import Event
from crewcall.staffing import selectors, services
from crewcall.staffing.forms import HOURS_FIELDS, VersionForm
from crewcall.staffing.views.board import hours_form
from crewcall.ui.access import editor
from crewcall.ui.htmx import wants_fragment
from crewcall.ui.writes import run_write


def _hours_url(event_id: int) -> str:
    return reverse("staffing:board", kwargs={"event_id": event_id}) + "#hours"


def _event(event_id: int) -> Event:
    event = Event.objects.filter(pk=event_id, is_template=False).first()
    if event is None:
        raise Http404
    return event


def _row(event: Event, employee_id: int) -> tuple[selectors.EventHours, selectors.HoursRow]:
    """The event's hours and this employee's row; 404 when they are neither placed at the
    event nor have hours there, or when the event takes no hours yet."""
    if not selectors.hours_open(event, today=timezone.localdate()):
        raise Http404
    hours = selectors.event_hours(event=event)
    row = hours.row_of(employee_id)
    if row is None:
        raise Http404
    return hours, row


def _answer(
    request: HttpRequest,
    event: Event,
    hours: selectors.EventHours,
    row: selectors.HoursRow,
    *,
    problem: str = "",
    theirs: str = "",
) -> HttpResponse:
    if not wants_fragment(request):
        if problem:
            messages.error(request, problem)
        for texts in row.form.errors.values() if row.form is not None else []:
            for text in texts:
                messages.error(request, f"{row.employee.name}: {text}")
        return HttpResponseRedirect(_hours_url(event.pk))
    context = {"event": event, "hours": hours, "row": row, "can_edit": True, "oob": True,
               "problem": problem, "theirs": theirs}  # fmt: skip
    return render(request, "staffing/_board_hours_row.html", context)


def _shown(log: Any) -> str:
    start = timezone.localtime(log.started_at).strftime("%H:%M")
    end = timezone.localtime(log.ended_at).strftime("%H:%M")
    return _("%(start)s–%(end)s, break %(minutes)s min, %(hours)s h") % {  # noqa: RUF001 - a dash between times
        "start": start, "end": end, "minutes": log.break_minutes, "hours": log.hours,
    }  # fmt: skip


@editor
@require_POST
def hours_save(request: SignedInRequest, event_id: int, employee_id: int) -> HttpResponse:
    event = _event(event_id)
    hours, row = _row(event, employee_id)
    form = hours_form(row, event, data=request.POST)
    row.form = form
    if not form.is_valid():
        return _answer(request, event, hours, row)
    if event.event_date is None:  # only a template lacks a date, and it has no board
        raise Http404
    started_at, ended_at = form.times(event.event_date)
    values = {
        "started_at": started_at,
        "ended_at": ended_at,
        "break_minutes": form.cleaned_data["break_minutes"],
        "note": form.cleaned_data["note"],
    }
    log = row.log

    def write() -> object:
        if log is None:
            return services.work_log_create(
                actor=request.user, event_id=event.pk, employee_id=employee_id, **values
            )
        if form.cleaned_data["version"] is None:
            # Typed as a first entry, but someone saved one meanwhile (another tab, the API).
            raise VersionConflict(entity="work log", pk=log.pk, expected=0, current=log.version)
        return services.work_log_update(
            actor=request.user, work_log_id=log.pk, expected_version=form.cleaned_data["version"], **values
        )

    def conflict() -> HttpResponse:
        # Keep what was typed, now against the current version: Save again keeps it.
        hours, row = _row(event, employee_id)
        data = request.POST.copy()
        data["version"] = str(row.log.version) if row.log is not None else ""
        row.form = hours_form(row, event, data=data)
        row.form.is_valid()
        return _answer(
            request,
            event,
            hours,
            row,
            problem=_(
                "Someone else saved these hours meanwhile; yours were not saved. Save again to keep yours."
            ),
            theirs=_shown(row.log) if row.log is not None else "",
        )

    written = run_write(request, write, form=form, conflict=conflict, missing=True, fields=HOURS_FIELDS)
    if written.answer is not None:
        return written.answer
    if not written.ok:
        return _answer(request, event, hours, row)
    hours, row = _row(event, employee_id)
    row.form = hours_form(row, event)
    if not wants_fragment(request):
        messages.success(request, _("Hours of %(name)s saved.") % {"name": row.employee.name})
    return _answer(request, event, hours, row)


def _act_on_entry(request: SignedInRequest, event_id: int, employee_id: int, *, reopen: bool) -> HttpResponse:
    """Approve an entry, or reopen an approved one (its hours locked until then)."""
    event = _event(event_id)
    hours, row = _row(event, employee_id)
    form = VersionForm(request.POST)
    problem = ""
    if row.log is None:
        problem = _("There are no hours to approve yet.")
    elif not form.is_valid():
        problem = _("The version of these hours is missing; reload the board.")
    else:
        log_id, version = row.log.pk, form.cleaned_data["version"]
        act = services.work_log_reopen if reopen else services.work_log_approve
        written = run_write(
            request,
            lambda: act(actor=request.user, work_log_id=log_id, expected_version=version),
            form=form,  # the refusal lands above this form (it shows no field), said as the problem
            conflict=_("These hours were changed meanwhile; check them, then approve again.")
            if not reopen
            else _("These hours were changed meanwhile; check them, then reopen them again."),
            missing=True,
        )
        problem = " ".join(str(text) for text in form.non_field_errors())
        if written.ok:
            hours, row = _row(event, employee_id)
            if not wants_fragment(request):
                done = _("Hours of %(name)s reopened.") if reopen else _("Hours of %(name)s approved.")
                messages.success(request, done % {"name": row.employee.name})
    row.form = hours_form(row, event)
    return _answer(request, event, hours, row, problem=problem)


@editor
@require_POST
def hours_approve(request: SignedInRequest, event_id: int, employee_id: int) -> HttpResponse:
    return _act_on_entry(request, event_id, employee_id, reopen=False)


@editor
@require_POST
def hours_reopen(request: SignedInRequest, event_id: int, employee_id: int) -> HttpResponse:
    return _act_on_entry(request, event_id, employee_id, reopen=True)
