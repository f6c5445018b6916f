"""An employee's signed personal links (no password) and their iCal feed.

A link carries the employee's id and link version, signed (people/links.py): it cannot be
guessed or altered. A forged link, or one of an archived or anonymised employee, is 404
(as for a forged link: nothing tells an outsider which links once existed); a link the
dispatcher replaced, or one past its last day, is 410 with a page telling its holder to
ask for a new one (only a genuine holder gets that far).

`/r/<token>/calendar.ics` lists the employee's shifts: every event they accepted (or
worked) from 90 days back on, with the work area they are placed in; a shift that was
called off after they accepted stays in the feed as STATUS:CANCELLED, so subscribed
calendars show it as cancelled instead of silently dropping it. The feed's own words are
in the employee's language (messaging.texts.preferred_language), from the catalogue.

Both links read inside the employee's scope (core/employee_scope.py): PostgreSQL's
row-level security shows them that employee's rows only, whatever a query forgot.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
from django.apps import apps
from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import override, pgettext
from django.views.decorators.http import require_safe

from crewcall.core.employee_scope import employee_scope
from crewcall.messaging.texts import preferred_language
from crewcall.people.links import LinkClaim, LinkGone, LinkInvalid, employee_link, link_claim, link_employee
from crewcall.people.models import Employee
from crewcall.staffing.models import Invitation, InvitationStatus
from crewcall.staffing.picker.rules import BOOKED_STATUSES

RECENT_DAYS = 90


def employee_link_token(employee_id: int, *, last_day: dt.date | None = None) -> str:
    """The token of an employee's current personal links (`/r/<token>`, `/r/<token>/calendar.ics`)."""
    return employee_link(employee_id=employee_id, last_day=last_day).token


def link_claim_or_404(token: str) -> LinkClaim:
    """What a genuine token claims; 404 for anything else (nothing tells an outsider which
    links once existed)."""
    try:
        return link_claim(token)
    except LinkInvalid:
        raise Http404("No such link.") from None


def employee_for_claim(claim: LinkClaim) -> Employee:
    """The active employee a genuine link names: 404 once archived or anonymised; LinkGone
    (the views answer 410) once replaced or past its last day."""
    try:
        return link_employee(claim)
    except LinkInvalid:
        raise Http404("No such link.") from None


def calendar_entries(*, employee_id: int, since: dt.date) -> QuerySet[Invitation]:
    """The employee's booked shifts on or after `since`, with event and placement (one query).

    A cancelled invitation counts only if it had been accepted (its history says so):
    someone merely asked for an event that was then cancelled never had it in their plan."""
    history = apps.get_model("staffing", "InvitationHistory")
    was_accepted = history.objects.filter(pgh_obj_id=OuterRef("pk"), status=InvitationStatus.ACCEPTED)
    return (
        Invitation.objects.filter(employee_id=employee_id, event__event_date__gte=since)
        .filter(Q(status__in=BOOKED_STATUSES) | Q(Exists(was_accepted), status=InvitationStatus.CANCELLED))
        .select_related("event", "assignment__work_area", "assignment__role")
        .order_by("event__event_date", "event__start_time", "pk")
    )


def _host() -> str:
    return urlsplit(settings.PUBLIC_URL).hostname or "crewcall.invalid"


def _placement(invitation: Invitation) -> Any:
    try:
        return invitation.assignment
    except Invitation.assignment.RelatedObjectDoesNotExist:
        return None


def _labels() -> dict[str, str]:
    """The feed's words in the active language (the employee's: see employee_calendar_ics)."""
    return {
        "calendar": pgettext("calendar feed", "Crewcall: my shifts"),
        "area": pgettext("calendar feed", "Work area"),
        "role": pgettext("calendar feed", "Role"),
        "open_end": pgettext("calendar feed", "Open end"),
        "cancelled": pgettext("calendar feed", "Cancelled"),
    }


def _vevent(
    invitation: Invitation, day: dt.date, zone: ZoneInfo, labels: dict[str, str], host: str
) -> icalendar.Event:
    event = invitation.event
    placement = _placement(invitation)
    cancelled = invitation.status == "cancelled" or event.status == "cancelled"
    entry = icalendar.Event()
    entry.add("uid", f"invitation-{invitation.pk}@{host}")
    changed = max([event.updated_at, invitation.updated_at] + ([placement.updated_at] if placement else []))
    entry.add("dtstamp", changed)
    entry.add("last-modified", changed)
    # Both only grow, so every change to the event or the booking raises the sequence.
    entry.add("sequence", event.version + invitation.version)
    entry.add("dtstart", dt.datetime.combine(day, event.start_time, tzinfo=zone))
    lines = []
    if event.end_time is not None:
        end_date = day + dt.timedelta(days=1 if event.ends_next_day else 0)
        entry.add("dtend", dt.datetime.combine(end_date, event.end_time, tzinfo=zone))
    else:
        lines.append(labels["open_end"])
    entry.add("summary", f"{labels['cancelled']}: {event.title}" if cancelled else event.title)
    if event.location:
        entry.add("location", event.location)
    if placement is not None:
        area = placement.work_area
        where = f" ({area.location})" if area.location else ""
        lines.append(f"{labels['area']}: {area.name}{where}")
        lines.append(f"{labels['role']}: {placement.role.name}")
    lines.extend(text for text in (event.description, event.specialties) if text)
    if lines:
        entry.add("description", "\n".join(lines))
    entry.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    entry.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return entry


def employee_calendar_ics(employee: Employee, *, today: dt.date | None = None) -> bytes:
    zone = ZoneInfo(settings.TIME_ZONE)
    today = today or timezone.localdate()
    with override(preferred_language(employee)):
        labels = _labels()
    host = _host()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Crewcall//Employee shifts//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", labels["calendar"])
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    # Subscribed calendars poll; once an hour is plenty for shifts planned days ahead.
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(dt.timedelta(hours=1)))
    since = today - dt.timedelta(days=RECENT_DAYS)
    for invitation in calendar_entries(employee_id=employee.pk, since=since):
        day = invitation.event.event_date
        if day is not None:  # always set for events (only templates lack a date)
            calendar.add_component(_vevent(invitation, day, zone, labels, host))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


@require_safe
def employee_calendar(request: HttpRequest, token: str) -> HttpResponse:
    # Every read in the employee's scope: row-level security shows this employee's rows only.
    claim = link_claim_or_404(token)
    with employee_scope(claim.employee_id):
        try:
            body = employee_calendar_ics(employee_for_claim(claim))
        except LinkGone as gone:
            # 410: calendar apps stop polling a feed that is gone for good.
            with override(preferred_language(gone.employee)):
                text = pgettext("personal page", "This link was replaced or has expired.")
            return HttpResponse(text, status=410, content_type="text/plain; charset=utf-8")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="crewcall.ics"'
    # The link is the key: keep it out of shared caches, search engines and referrers.
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
