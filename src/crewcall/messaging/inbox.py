"""The dispatchers' inbox: messages from employees that no rule could answer (a question,
words that are neither yes nor no, an unknown sender, nothing open to answer, an apply
that failed), newest first, until a dispatcher marks one handled. The header shows how
many wait; the page and the count follow the change feed (`messaging_inboundmessage`)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crewcall.accounts.models import User
from crewcall.core.errors import ValidationFailed
from crewcall.core.transactions import service
from crewcall.messaging.inbound import inbound_lock
from crewcall.messaging.models import FOR_A_PERSON, InboundMessage, InboundOutcome

INBOX_LIMIT = 200


def inbox_filter() -> QuerySet[InboundMessage]:
    """The messages waiting for a person, newest first, with their sender (one query)."""
    return (
        InboundMessage.objects.filter(outcome__in=FOR_A_PERSON)
        .select_related("employee", "invitation__event")
        .order_by("-received_at", "-id")
    )


def inbox_count() -> int:
    return InboundMessage.objects.filter(outcome__in=FOR_A_PERSON).count()


@service
def inbound_mark_handled(*, actor: User | None, message_id: int) -> InboundMessage:
    """A dispatcher took care of the message (answered the employee, fixed the number …);
    its history keeps what it was and who marked it."""
    inbound = inbound_lock(message_id=message_id)
    if inbound.outcome not in FOR_A_PERSON:
        raise ValidationFailed.single("outcome", _("This message is not waiting for anyone."))
    inbound.outcome = InboundOutcome.HANDLED
    inbound.save(update_fields=["outcome"])
    return inbound
