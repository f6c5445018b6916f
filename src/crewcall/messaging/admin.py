"""Admin pages for messages (read-only: messages are written by services and jobs)."""

from __future__ import annotations

from django.contrib import admin

from crewcall.messaging.models import InboundMessage, OutboundMessage, WebhookRejection
from crewcall.ui.admin_base import ReadOnlyAdmin


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("kind", "employee", "event", "status", "attempts", "provider", "created_at")
    list_filter = ("status", "kind", "provider")
    list_select_related = ("employee", "event")
    search_fields = ("to_number", "provider_sid", "intent_key")


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("from_number", "body", "button_payload", "outcome", "employee", "received_at")
    list_filter = ("outcome",)
    list_select_related = ("employee",)
    search_fields = ("from_number", "provider_sid", "body")


@admin.register(WebhookRejection)
class WebhookRejectionAdmin(ReadOnlyAdmin):
    list_display = ("endpoint", "reason", "count", "last_at")
