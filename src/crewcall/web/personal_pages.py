"""The employee's personal page behind their signed link (`/r/<token>/`, no password).

It lists the employee's open invitations, each with Yes / No buttons, their upcoming
confirmed shifts and the link to subscribe to their iCal feed, in their preferred language
(messaging.texts.preferred_language), whatever their browser asks for: the page is rendered
under `translation.override` of that language with the app's catalogue (locale/).

An answer given here takes the same path as a WhatsApp reply (`answer_invitation`: the
event row is locked first, a "yes" after the last place is taken goes to the waiting
list), recorded with response_method "web" (history source "web"). Only an invitation
still open (asked or waitlisted) is answered; anything else says "already answered" or
"no longer open" and changes nothing, so a second tap, a reload or a stale page is
harmless (an acceptance is never withdrawn from here: that stays a WhatsApp "no" or the
dispatcher's decision).

The page's reads run in the employee's scope (core/employee_scope.py: row-level security
shows that employee's rows only); the answer's own reads too, but not the answer itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override, pgettext
from django.views.decorators.http import require_POST, require_safe

from crewcall.core.employee_scope import employee_scope
from crewcall.core.errors import Busy, NotFound
from crewcall.messaging.texts import preferred_language, render_for
from crewcall.people.links import LinkGone
from crewcall.people.models import Employee
from crewcall.staffing.answers import ANSWERABLE, OPEN_EVENT, REPLY_FOR, Outcome
from crewcall.staffing.models import Invitation
from crewcall.staffing.services import invitation_answer_on_page
from crewcall.ui.htmx import render_page
from crewcall.web.personal import employee_for_claim, link_claim_or_404

# Bounds the page's one list query (a person has a handful of upcoming shifts).
MAX_ROWS = 100


# How each outcome is shown (the message's level).
LEVEL = {
    "accepted": messages.SUCCESS,
    "waitlisted": messages.WARNING,
    "still_waitlisted": messages.WARNING,
    "declined": messages.INFO,
    "withdrawn": messages.INFO,
    "already": messages.INFO,
    "closed": messages.WARNING,
}


def reply_text(invitation: Invitation, outcome: Outcome) -> str:
    """What the answer did, in the employee's words (the text WhatsApp would reply)."""
    text, _variables = render_for(REPLY_FOR[outcome], employee=invitation.employee, event=invitation.event)
    return text


def page_rows(employee_id: int, today: dt.date) -> tuple[list[Invitation], list[Invitation]]:
    """(open invitations, confirmed shifts) from today on, with event and placement (one query)."""
    answerable = Q(status__in=ANSWERABLE, event__status__in=OPEN_EVENT)
    booked = Q(status="accepted") & ~Q(event__status="cancelled")
    rows = list(
        Invitation.objects.filter(
            employee_id=employee_id, event__event_date__gte=today, event__is_template=False
        )
        .filter(answerable | booked)
        .select_related("event", "assignment__work_area", "assignment__role")
        .order_by("event__event_date", "event__start_time", "pk")[:MAX_ROWS]
    )
    for row in rows:
        try:
            row.placement = row.assignment  # type: ignore[attr-defined]
        except Invitation.assignment.RelatedObjectDoesNotExist:
            row.placement = None  # type: ignore[attr-defined]
    return [r for r in rows if r.status != "accepted"], [r for r in rows if r.status == "accepted"]


def calendar_links(token: str) -> dict[str, str]:
    """The feed's https address and the same as webcal:// (subscribes in calendar apps)."""
    path = reverse("employee-calendar", args=[token])
    public = urlsplit(settings.PUBLIC_URL)
    https = f"{public.scheme}://{public.netloc}{path}"
    return {"https": https, "webcal": f"webcal://{public.netloc}{path}"}


def _private(response: HttpResponse, language: str) -> HttpResponse:
    # The link is the key: keep the page out of shared caches, search engines and other
    # sites' referrers ("same-origin", not "no-referrer": with that, browsers post the
    # answer forms with `Origin: null` and CSRF refuses them).
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "same-origin"
    response["Content-Language"] = language
    return response


@require_safe
def personal_page(request: HttpRequest, token: str) -> HttpResponse:
    # Every read, rendering included, in the employee's scope (row-level security).
    claim = link_claim_or_404(token)
    with employee_scope(claim.employee_id):
        try:
            employee = employee_for_claim(claim)
        except LinkGone as gone:
            return _gone(request, gone.employee)
        return _personal_page(request, token, employee)


def _gone(request: HttpRequest, employee: Employee) -> HttpResponse:
    """410: the link was genuine but is replaced or past its last day; its holder is told
    to ask the agency for the current one."""
    language = preferred_language(employee)
    with override(language):
        response = render_page(request, "web/personal_gone.html", status=410)
    return _private(response, language)


def _personal_page(request: HttpRequest, token: str, employee: Employee) -> HttpResponse:
    language = preferred_language(employee)
    with override(language):
        open_invitations, shifts = page_rows(employee.pk, timezone.localdate())
        context: dict[str, Any] = {
            "employee": employee,
            "first_name": employee.name.split(" ")[0],
            "token": token,
            "open_invitations": open_invitations,
            "shifts": shifts,
            "calendar": calendar_links(token),
        }
        response = render_page(request, "web/personal.html", context)
    return _private(response, language)


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(choices=[("yes", "yes"), ("no", "no")])


@require_POST
def personal_answer_view(request: HttpRequest, token: str, invitation_id: int) -> HttpResponse:
    claim = link_claim_or_404(token)
    employee_id = claim.employee_id
    with employee_scope(employee_id):
        try:
            employee = employee_for_claim(claim)
        except LinkGone as gone:
            return _gone(request, gone.employee)
    language = preferred_language(employee)
    form = AnswerForm(request.POST)
    with override(language):
        if not form.is_valid():
            text = pgettext("personal page", "Unknown answer.")
            refused = HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
            return _private(refused, language)
        try:
            # Not in the scope: the answer weighs the event's other invitations (places
            # left, waiting list) and writes history, changes and messages.
            invitation, outcome = invitation_answer_on_page(
                employee_id=employee.pk, invitation_id=invitation_id, answer=form.cleaned_data["answer"]
            )
        except NotFound:
            raise Http404("No such invitation.") from None
        except Busy:
            busy = pgettext("personal page", "That did not go through just now. Please try again.")
            messages.error(request, busy)
        else:
            with employee_scope(employee_id):
                messages.add_message(request, LEVEL[outcome], reply_text(invitation, outcome))
    response = HttpResponseRedirect(reverse("employee-page", args=[token]), status=303)
    return _private(response, language)
