"""The event's staffing board: who was asked and what they answered, where the people
who accepted are placed, and the dispatcher's actions (ask, nudge, change a status by
hand, place, move, remove). Every write goes through the staffing and events services; their
refusals come back to the board as messages, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from crewcall.accounts.requests import SignedInRequest
from crewcall.core.errors import ValidationFailed
from crewcall.events.models import Event, EventStatus, WorkArea
from crewcall.people.models import Role
from crewcall.staffing import asking, selectors, services
from crewcall.staffing.forms import (
    AskConfirmForm,
    AskForm,
    HoursForm,
    MoveForm,
    PlaceForm,
    StatusChangeForm,
    VersionForm,
    next_statuses,
)
from crewcall.staffing.models import Assignment, Invitation, InvitationStatus, ResponseMethod
from crewcall.staffing.placement import assignment_create, assignment_delete, assignment_move
from crewcall.ui.access import can_edit, editor, reader
from crewcall.ui.htmx import render_page
from crewcall.ui.live import render_live
from crewcall.ui.writes import run_write

# The board's live parts: ?part=<name> answers an htmx refresh with that fragment alone.
FRAGMENTS = {
    "head": "staffing/_board_head.html",
    "areas": "staffing/_board_areas.html",
    "invitations": "staffing/_board_invitations.html",
    "hours": "staffing/_board_hours.html",
}
LIVE_TABLES = {
    "head": "events_event staffing_invitation events_assignment events_workarea",
    "areas": "events_workarea events_assignment",
    "invitations": "staffing_invitation events_assignment events_workarea",
    "hours": "staffing_worklog events_assignment events_event",
}


def _moment(at: datetime | None) -> str:
    return timezone.localtime(at).strftime("%d.%m. %H:%M") if at else ""


def _role_options(roles: Any, *, selected: int | None) -> str:
    return format_html_join(
        "", "<option value=\"{}\"{}>{}</option>",
        ((r.pk, mark_safe(" selected") if r.pk == selected else "", r.name) for r in roles),
    )  # fmt: skip


ID = 987654321  # stands for a row's id in a reversed URL


def url_around(name: str, **kwargs: int) -> dict[str, str]:
    """The URL `name` as the text before (`head`) and after (`tail`) the argument given as
    `ID`. A dict, not a tuple: the template engine finds keys at once, while an index
    first fails as an attribute (and lists the object's attributes to say so)."""
    head, _id, tail = reverse(name, kwargs=kwargs).partition(str(ID))
    return {"head": head, "tail": tail}


def _board_url(event_id: int) -> str:
    return reverse("staffing:board", kwargs={"event_id": event_id})


def _back(event_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(_board_url(event_id))


def _event(event_id: int) -> Event:
    event = Event.objects.filter(pk=event_id, is_template=False).first()
    if event is None:
        raise Http404
    return event


def _form_errors(request: HttpRequest, form: Any) -> None:
    for texts in form.errors.values():
        for text in texts:
            messages.error(request, text)


def _prepare_rows(board: selectors.Board) -> None:
    """Give each invitation row what it shows: its times as text, the statuses it may go to
    and, for an accepted person not placed yet, the work-area and role options. Lists are
    made once per status and per role, not per row, and times are formatted here: a board
    of hundreds of rows spent most of its time on these in the template."""
    statuses: dict[str, list[tuple[str, str]]] = {}
    areas = format_html_join(
        "", '<option value="{}">{} ({}/{})</option>',
        ((a.pk, a.name, a.assigned, a.max_capacity) for a in board.areas if a.is_active),
    )  # fmt: skip
    roles: dict[int | None, str] = {}
    for _status, invitations in board.groups:
        for invitation in invitations:
            status = invitation.status
            if status not in statuses:
                statuses[status] = [(value, str(label)) for value, label in next_statuses(status)]
            invitation.next_statuses = statuses[status]  # type: ignore[attr-defined]
            invitation.asked_text = _moment(invitation.asked_at)  # type: ignore[attr-defined]
            invitation.answered_text = _moment(invitation.responded_at)  # type: ignore[attr-defined]
            invitation.place_options = None  # type: ignore[attr-defined]
            if status == InvitationStatus.ACCEPTED and not invitation.placement and areas:  # type: ignore[attr-defined]
                role = invitation.employee.primary_role_id
                if role not in roles:
                    roles[role] = _role_options(board.roles, selected=role)
                invitation.place_options = {"areas": areas, "roles": roles[role]}  # type: ignore[attr-defined]


@reader
def board(request: HttpRequest, event_id: int) -> HttpResponse:
    def read() -> dict[str, Any]:
        found = selectors.event_board(event_id=event_id)
        if found is None:
            raise Http404
        _prepare_rows(found)
        editing = can_edit(request)
        hours = None
        if selectors.hours_open(found.event, today=timezone.localdate()):
            hours = selectors.event_hours(event=found.event, placements=found.placements)
            for row in hours.rows:
                row.form = hours_form(row, found.event) if editing else None
        if editing:
            for area in found.areas:
                for placement in area.placed:
                    # Only where there is room: a full area would refuse the move anyway.
                    placement.move_to = [
                        a
                        for a in found.areas
                        if a.is_active and a.pk != area.pk and a.assigned < a.max_capacity
                    ]
        return {
            "board": found,
            "event": found.event,
            "hours": hours,
            "can_edit": editing,
            "ask_form": AskForm(),
            # "Remind everyone" only when someone has not answered yet.
            "unanswered": any(status == InvitationStatus.ASKED and rows for status, rows in found.groups),
            "live": LIVE_TABLES,
            "board_url": _board_url(event_id),
            "place_url": reverse("staffing:place", kwargs={"event_id": event_id}),
            # Per-row links as (head, tail) around the row's id: reversing a URL for each of
            # hundreds of rows cost more than the rest of the row.
            "row_url": {
                "timeline": url_around("staffing:timeline", event_id=event_id, employee_id=ID),
                "status": url_around("staffing:invitation_status", event_id=event_id, invitation_id=ID),
            },
        }

    return render_live(
        request, "staffing/board.html", read, fragment=FRAGMENTS.get(request.GET.get("part", ""))
    )


def hours_form(row: selectors.HoursRow, event: Event, data: Any = None) -> HoursForm:
    """The hours form of one row: the entry's values, or the event's times to start from."""
    auto_id = f"hours-{row.employee.pk}-%s"
    if data is not None:
        return HoursForm(data, auto_id=auto_id)
    log = row.log
    initial: dict[str, Any]
    if log is None:
        initial = {"start": event.start_time, "end": event.end_time, "break_minutes": 0}
    else:
        initial = {
            "version": log.version,
            "start": timezone.localtime(log.started_at).time(),
            "end": timezone.localtime(log.ended_at).time(),
            "break_minutes": log.break_minutes,
            "note": log.note,
        }
    return HoursForm(initial=initial, auto_id=auto_id)


@editor
def ask(request: SignedInRequest, event_id: int) -> HttpResponse:
    """GET: who would be asked now and why (the picker, read-only). POST: ask them."""
    event = _event(event_id)
    if request.method == "POST":
        return _ask(request, event)
    form = AskForm(request.GET)
    preview = None
    if form.is_valid():
        try:
            preview = selectors.ask_preview(event_id=event_id, count=form.cleaned_data["count"])
        except ValidationFailed as error:
            for texts in error.errors.values():
                for text in texts:
                    form.add_error(None, text)
    context = {"event": event, "form": form, "preview": preview, "board_url": _board_url(event_id)}
    return render(request, "staffing/ask.html", context)


def _ask(request: SignedInRequest, event: Event) -> HttpResponse:
    form = AskConfirmForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(event.pk)
    written = run_write(
        request,
        lambda: asking.event_ask(
            actor=request.user,
            event_id=event.pk,
            wave=form.cleaned_data["wave"],
            count=form.cleaned_data["count"],
        ),
    )
    if written.ok:
        result = written.value
        asked = len(result.invitations)
        if not result.created:
            messages.info(request, _("These people had been asked already; nobody was asked twice."))
        elif asked == 0:
            messages.info(request, _("Nobody eligible is left to ask."))
        else:
            text = ngettext("Asked %(n)d person.", "Asked %(n)d people.", asked) % {"n": asked}
            messages.success(request, text)
            if event.status == EventStatus.DRAFT:  # as read before asking
                messages.info(request, _("The event was a draft: asking opened it for recruiting."))
    return _back(event.pk)


@editor
@require_POST
def nudge(request: SignedInRequest, event_id: int) -> HttpResponse:
    _event(event_id)
    written = run_write(request, lambda: asking.event_nudge(actor=request.user, event_id=event_id))
    if written.ok:
        sent = written.value
        if sent:
            text = ngettext("Reminded %(n)d person.", "Reminded %(n)d people.", sent) % {"n": sent}
            messages.success(request, text)
        else:
            messages.info(request, _("Nobody to remind: everyone answered or was reminded today."))
    return _back(event_id)


def _write(request: HttpRequest, write: Callable[[], Any], *, whose: str) -> bool:
    """Run one versioned write; its refusal becomes a message. True when it worked."""
    written = run_write(
        request,
        write,
        conflict=_(
            "%(whose)s was changed by someone else meanwhile; nothing was changed. "
            "Here is the board as it is now."
        )
        % {"whose": whose},
        missing=_("%(whose)s no longer exists.") % {"whose": whose},
        prefix=f"{whose}: ",
    )
    return written.ok


@editor
@require_http_methods(["GET", "POST"])
def invitation_status(request: SignedInRequest, event_id: int, invitation_id: int) -> HttpResponse:
    """GET: the form (the board loads it into a row when its "Change status" opens, so a
    board of hundreds of rows does not render hundreds of forms); POST: the change."""
    invitation = (
        Invitation.objects.select_related("employee", "event")
        .filter(pk=invitation_id, event_id=event_id, event__is_template=False)
        .first()
    )
    if invitation is None:
        raise Http404
    if request.method == "GET":
        context = {
            "inv": invitation,
            "event": invitation.event,
            "options": [(v, str(label)) for v, label in next_statuses(invitation.status)],
        }
        return render_page(
            request, "staffing/status_form.html", context, fragment="staffing/_status_form.html"
        )
    form = StatusChangeForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(event_id)
    status = form.cleaned_data["status"]
    done = _write(
        request,
        lambda: services.invitation_set_status(
            actor=request.user,
            invitation_id=invitation_id,
            expected_version=form.cleaned_data["version"],
            status=status,
            method=ResponseMethod.MANUAL,
            note=form.cleaned_data["note"],
        ),
        whose=_("The invitation of %(name)s") % {"name": invitation.employee.name},
    )
    if done:
        messages.success(
            request,
            _("%(name)s is now %(status)s.")
            % {"name": invitation.employee.name, "status": InvitationStatus(status).label.lower()},
        )
    return _back(event_id)


@editor
@require_POST
def place(request: SignedInRequest, event_id: int) -> HttpResponse:
    _event(event_id)
    form = PlaceForm(
        request.POST,
        areas=WorkArea.objects.filter(event_id=event_id).only("id", "name"),
        roles=Role.objects.only("id", "name"),
    )
    if not form.is_valid():
        _form_errors(request, form)
        return _back(event_id)
    invitation = (
        Invitation.objects.select_related("employee")
        .filter(pk=form.cleaned_data["invitation"], event_id=event_id)
        .first()
    )
    if invitation is None:
        raise Http404
    name = invitation.employee.name
    written = run_write(
        request,
        lambda: assignment_create(
            actor=request.user,
            event_id=event_id,
            invitation_id=invitation.pk,
            work_area_id=form.cleaned_data["work_area"],
            role_id=form.cleaned_data["role"],
        ),
        prefix=_("%(name)s was not placed: ") % {"name": name},
    )
    if written.ok:
        placed = written.value
        messages.success(
            request,
            _("%(name)s is placed in %(area)s as %(role)s.")
            % {"name": name, "area": placed.work_area.name, "role": placed.role.name},
        )
    return _back(event_id)


@editor
@require_POST
def unplace(request: SignedInRequest, event_id: int, assignment_id: int) -> HttpResponse:
    placement = (
        Assignment.objects.select_related("employee").filter(pk=assignment_id, event_id=event_id).first()
    )
    if placement is None:
        raise Http404
    form = VersionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(event_id)
    name = placement.employee.name
    done = _write(
        request,
        lambda: assignment_delete(
            actor=request.user,
            assignment_id=assignment_id,
            expected_version=form.cleaned_data["version"],
        ),
        whose=_("The placement of %(name)s") % {"name": name},
    )
    if done:
        messages.success(request, _("%(name)s is no longer placed.") % {"name": name})
    return _back(event_id)


@editor
@require_POST
def move(request: SignedInRequest, event_id: int, assignment_id: int) -> HttpResponse:
    """Move a placed person to another work area (the role stays); capacity and role
    requirements are the service's (and the database's) to enforce."""
    placement = (
        Assignment.objects.select_related("employee").filter(pk=assignment_id, event_id=event_id).first()
    )
    if placement is None:
        raise Http404
    form = MoveForm(request.POST, areas=WorkArea.objects.filter(event_id=event_id).only("id", "name"))
    if not form.is_valid():
        _form_errors(request, form)
        return _back(event_id)
    name = placement.employee.name
    area_id = form.cleaned_data["work_area"]
    done = _write(
        request,
        lambda: assignment_move(
            actor=request.user,
            assignment_id=assignment_id,
            expected_version=form.cleaned_data["version"],
            work_area_id=area_id,
        ),
        whose=_("The placement of %(name)s") % {"name": name},
    )
    if done:
        area = dict(form.fields["work_area"].choices).get(area_id, "")  # type: ignore[attr-defined]
        messages.success(request, _("%(name)s moved to %(area)s.") % {"name": name, "area": area})
    return _back(event_id)
