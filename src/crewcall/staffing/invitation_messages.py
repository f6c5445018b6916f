"""What staffing tells an invitation's employee about its event (asked, booked, waiting,
cancelled …): the text composed here, in their language, with their personal link under
the texts about a shift, and handed to the outbox with the event and invitation as plain
ids."""

from __future__ import annotations

from crewcall.events.models import Event
from crewcall.messaging.models import OutboundMessage
from crewcall.messaging.outbox import message_queue
from crewcall.messaging.texts import render_for
from crewcall.people.links import employee_page_url
from crewcall.staffing.models import Invitation


def message_queue_about(
    invitation: Invitation,
    event: Event,
    *,
    text: str,
    kind: str,
    intent_key: str,
    template_key: str = "",
    **text_variables: str,
) -> tuple[OutboundMessage, bool]:
    """Queue the text `text` to an invitation's employee about its event, in their
    language and with their personal link under the texts about a shift (the common case
    of `message_queue`); returns (message, created)."""
    employee = invitation.employee
    body, variables = render_for(
        text, employee=employee, event=event, link=employee_page_url(employee), **text_variables
    )
    return message_queue(
        employee=employee,
        kind=kind,
        intent_key=intent_key,
        body=body,
        template_key=template_key,
        template_variables=variables,
        event_id=event.pk,
        invitation_id=invitation.pk,
    )
