"""The event's status actions on its page (mounted as events:transition and
events:cancel by crewcall/urls.py): completing and cancelling reach the invitations and
placements, so they go through staffing.event_lifecycle."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from crewcall.accounts.requests import SignedInRequest
from crewcall.events.models import EventStatus
from crewcall.events.views.events import act_on_event, act_on_event_confirmed, event_or_404
from crewcall.staffing import event_lifecycle
from crewcall.ui.access import editor


@editor
@require_POST
def event_transition(request: SignedInRequest, pk: int) -> HttpResponse:
    event_or_404(pk)
    failed = act_on_event(
        request,
        pk,
        lambda version, to_status: event_lifecycle.event_transition(
            actor=request.user,
            event_id=pk,
            expected_version=version,
            to_status=to_status,
        ),
    )
    return failed or HttpResponseRedirect(reverse("events:detail", args=[pk]))


@editor
def event_cancel(request: SignedInRequest, pk: int) -> HttpResponse:
    return act_on_event_confirmed(
        request,
        pk,
        action="cancel",
        run=lambda version: event_lifecycle.event_cancel(
            actor=request.user, event_id=pk, expected_version=version
        ),
        done_url=reverse("events:detail", args=[pk]),
    )


@editor
def event_complete(request: SignedInRequest, pk: int) -> HttpResponse:
    """Asked first (the page says what completing does), then done with the version the
    page showed; reopening stays possible for a while (the event's page offers it)."""
    return act_on_event_confirmed(
        request,
        pk,
        action="complete",
        run=lambda version: event_lifecycle.event_transition(
            actor=request.user, event_id=pk, expected_version=version, to_status=EventStatus.COMPLETED
        ),
        done_url=reverse("events:detail", args=[pk]),
    )
