"""What the send job needs from a messaging provider, and nothing more.

A provider sends one message and, after a crash or an ambiguous error, can say whether a
message was in fact sent (`find_sent`). Errors say whether trying again can help
(`retryable`) and whether the provider may have taken the message anyway (`maybe_sent`):
a timeout after the request left, a 5xx, a connection dropped mid-answer. The send job
never re-sends a maybe-sent message without asking `find_sent` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from crewcall.messaging.models import OutboundMessage


@dataclass(frozen=True)
class ProviderReceipt:
    sid: str
    status: str


class ProviderError(Exception):
    def __init__(self, code: str, message: str, retryable: bool, *, maybe_sent: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        # Only meaningful with retryable: a permanent refusal (4xx) means not taken.
        self.maybe_sent = maybe_sent


class MessagingProvider(Protocol):
    name: str

    def send(self, message: OutboundMessage, *, status_callback: str) -> ProviderReceipt: ...

    def find_sent(self, message: OutboundMessage) -> ProviderReceipt | None: ...


def status_callback_url(message: OutboundMessage) -> str:
    # `m` ties a status callback to the row even before the worker has stored the
    # provider's id (see messaging.inbound.outbound_status_record).
    return f"{settings.PUBLIC_URL.rstrip('/')}/webhooks/twilio/status?m={message.pk}"


def tunable(name: str, default: float) -> float:
    """A messaging knob from settings (read from CREWCALL_<name> by crewcall.settings, so a
    worker subprocess can be tuned through its environment); `default` if undefined."""
    return float(getattr(settings, name, default))
