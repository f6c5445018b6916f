"""Messaging providers: Twilio (WhatsApp) or the simulator, chosen per message."""

from __future__ import annotations

from django.conf import settings

from crewcall.messaging.providers.base import (
    MessagingProvider,
    ProviderError,
    ProviderReceipt,
    status_callback_url,
)

__all__ = ["MessagingProvider", "ProviderError", "ProviderReceipt", "get_provider", "status_callback_url"]


def get_provider(name: str | None = None) -> MessagingProvider:
    """The provider named (a message keeps the provider it was queued for), else the
    configured one."""
    name = name or settings.MESSAGING_PROVIDER
    if name == "twilio":
        from crewcall.messaging.providers.twilio import twilio_provider

        return twilio_provider()
    if name == "simulator":
        from crewcall.messaging.providers.simulator import SimulatorProvider

        return SimulatorProvider()
    raise ValueError(f"unknown messaging provider {name!r}")
