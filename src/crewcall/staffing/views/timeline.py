"""One employee's WhatsApp conversation about this event, opened from their row on the
board (an htmx fragment loaded when the <details> opens): messages sent with their
delivery status, replies with their outcome, oldest first. Two queries whatever the
number of messages (messaging.selectors.conversation_timeline), plus the check that
the employee was invited to this event."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from crewcall.messaging.selectors import conversation_timeline
from crewcall.staffing.models import Invitation
from crewcall.ui.access import reader

# The latest messages shown; a longer conversation is on the messages log.
TIMELINE_LIMIT = 100


@reader
def timeline(request: HttpRequest, event_id: int, employee_id: int) -> HttpResponse:
    invitation = (
        Invitation.objects.filter(event_id=event_id, employee_id=employee_id)
        .select_related("employee")
        .only("id", "employee__id", "employee__name")
        .first()
    )
    if invitation is None:
        raise Http404
    entries = conversation_timeline(employee_id=employee_id, event_id=event_id, limit=TIMELINE_LIMIT + 1)
    more = len(entries) > TIMELINE_LIMIT
    context = {
        "employee": invitation.employee,
        "entries": entries[-TIMELINE_LIMIT:],
        "more": more,
    }
    return render(request, "staffing/_board_timeline.html", context)
