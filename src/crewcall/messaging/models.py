"""Outbound and inbound WhatsApp messages (docs/messaging.md).

Tables and constraints only. An outbound row is the outbox: it is written in the same
transaction as the change that needs it, with a send job deferred beside it, and its
`intent_key` is unique, so one intent (say, "invite invitation 42") can never become two
messages. Delivery statuses only move forward (trigger in migration 0002).
"""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crewcall.core.audit_chain import history_meta
from crewcall.core.models import Versioned


class MessageKind(models.TextChoices):
    INVITATION = "invitation", _("Invitation")
    CONFIRMATION = "confirmation", _("Confirmation")
    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement")
    WAITLIST = "waitlist", _("Waitlist")
    REMINDER = "reminder", _("Reminder")
    CANCELLATION = "cancellation", _("Cancellation")
    NUDGE = "nudge", _("Nudge")
    CLARIFY = "clarify", _("Which event?")
    HELP = "help", _("Help")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    UNDELIVERED = "undelivered", _("Undelivered")


# The single Python copy of trigger `messaging_outbound_status_guard`. queued ⇄ sending is
# the worker's own claim and retry; from `sent` on, provider callbacks only move forward.
DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"sending", "failed"}),
    "sending": frozenset({"queued", "sent", "delivered", "read", "failed", "undelivered"}),
    "sent": frozenset({"delivered", "read", "failed", "undelivered"}),
    "delivered": frozenset({"read"}),
    "read": frozenset(),
    "failed": frozenset(),
    "undelivered": frozenset(),
}
# How far along a status is; a callback for a lower rank than the row has is ignored.
DELIVERY_RANK = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "read": 4,
    "failed": 5,
    "undelivered": 5,
}


class Provider(models.TextChoices):
    TWILIO = "twilio", "Twilio"
    SIMULATOR = "simulator", "Simulator"


@pghistory.track(model_name="OutboundMessageHistory", append_only=False, meta=history_meta())
class OutboundMessage(Versioned):
    employee = models.ForeignKey(
        "people.Employee", on_delete=models.PROTECT, related_name="outbound_messages"
    )
    event = models.ForeignKey(
        "events.Event", on_delete=models.PROTECT, null=True, blank=True, related_name="outbound_messages"
    )
    invitation = models.ForeignKey(
        "staffing.Invitation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbound_messages",
    )
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    intent_key = models.CharField(max_length=200, unique=True)
    to_number = models.CharField(max_length=16)
    body = models.TextField()
    template_key = models.CharField(max_length=40, blank=True, default="")
    template_variables = models.JSONField(default=dict, blank=True)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    provider_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=MessageKind.values), name="messaging_outboundmessage__kind__known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="messaging_outboundmessage__status__known"
            ),
            models.CheckConstraint(
                condition=Q(provider__in=Provider.values), name="messaging_outboundmessage__provider__known"
            ),
            # Blank only once erased (crewcall_employee_erase).
            models.CheckConstraint(
                condition=Q(to_number__regex=r"^\+[1-9][0-9]{6,14}$") | Q(to_number=""),
                name="messaging_outboundmessage__to_number__e164",
            ),
            models.CheckConstraint(condition=~Q(body=""), name="messaging_outboundmessage__body__not_blank"),
            # Past `sending`, the provider has it: a provider id must be known…
            models.CheckConstraint(
                condition=~Q(status__in=["sent", "delivered", "read"]) | Q(provider_sid__isnull=False),
                name="messaging_outboundmessage__provider_sid__when_sent",
            ),
            # …and past `queued` the attempt that may have reached the provider is counted
            # (refunds only come with a release to `queued`; docs/messaging.md, "Attempts").
            models.CheckConstraint(
                condition=Q(status="queued") | Q(attempts__gte=1),
                name="messaging_outboundmessage__attempts__past_queued",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbound_status_next"),
            models.Index(fields=["employee", "created_at"], name="outbound_employee_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_number} ({self.status})"


class InboundOutcome(models.TextChoices):
    PENDING = "pending", _("Not yet applied")
    APPLIED = "applied", _("Applied")
    AMBIGUOUS = "ambiguous", _("Asked which event")
    UNPARSEABLE = "unparseable", _("Not understood")
    UNKNOWN_SENDER = "unknown_sender", _("Unknown sender")
    NO_OPEN_INVITATION = "no_open_invitation", _("Nothing open to answer")
    FAILED = "failed", _("Could not be applied")
    HANDLED = "handled", _("Handled by a dispatcher")


# What a person must read: the dispatchers' inbox (messaging/inbox.py), until one marks
# it handled. A question is `unparseable` (staffing/replies.py).
FOR_A_PERSON = (
    InboundOutcome.UNPARSEABLE,
    InboundOutcome.UNKNOWN_SENDER,
    InboundOutcome.NO_OPEN_INVITATION,
    InboundOutcome.FAILED,
)


@pghistory.track(model_name="InboundMessageHistory", append_only=False, meta=history_meta())
class InboundMessage(Versioned):
    """A message from an employee, kept raw. `provider_sid` is unique: a webhook delivered
    twice stores one row."""

    provider_sid = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=40)
    body = models.TextField(blank=True, default="")
    button_payload = models.CharField(max_length=200, blank=True, default="")
    replied_to_sid = models.CharField(max_length=64, blank=True, default="")
    received_at = models.DateTimeField(db_default=models.functions.Now())
    raw = models.JSONField(default=dict)
    employee = models.ForeignKey(
        "people.Employee", on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_messages"
    )
    invitation = models.ForeignKey(
        "staffing.Invitation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    outcome = models.CharField(max_length=20, choices=InboundOutcome.choices, default=InboundOutcome.PENDING)
    outcome_detail = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=InboundOutcome.values),
                name="messaging_inboundmessage__outcome__known",
            ),
        ]

    def __str__(self) -> str:
        return f"from {self.from_number}: {self.body[:40]}"


class WebhookRejection(models.Model):
    """Forged or malformed webhooks are not stored; only counted, per endpoint and reason."""

    endpoint = models.CharField(max_length=40)
    reason = models.CharField(max_length=40)
    count = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "reason"], name="messaging_webhookrejection__reason__unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint}/{self.reason}: {self.count}"
