"""WhatsApp through Twilio's official SDK (docs/messaging.md).

Invitations, reminders and confirmations go out as Content templates (Yes/No buttons)
when their content SID is configured, everything else as plain text. Errors are mapped
so the send job can tell "not taken, try again" from "maybe taken, reconcile first" from
"refused, give up".
"""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from crewcall.messaging.models import OutboundMessage
from crewcall.messaging.providers.base import ProviderError, ProviderReceipt, tunable

# Any Twilio API host (api.twilio.com, messaging.twilio.com, regional edges).
_TWILIO_HOST = re.compile(r"^https://[A-Za-z0-9.-]*\.?twilio\.com")
# How far back, before the row was created, a provider record may be dated: clocks differ.
CLOCK_SKEW = timedelta(minutes=5)
# How many recent messages to one number reconciliation looks at; one employee gets a
# handful a day, so this reaches far past any reconciliation window.
FIND_LIMIT = 200


class RedirectingHttpClient(TwilioHttpClient):
    """The real SDK's HTTP client, sending to `api_base` instead of *.twilio.com: the real
    SDK code runs against a fake server in tests (and only there)."""

    def __init__(self, api_base: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_base = api_base.rstrip("/")
        if self.session is not None:
            # A local fake must not be reached through an HTTP(S)_PROXY from the env.
            self.session.trust_env = False

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, _TWILIO_HOST.sub(self.api_base, url, count=1), *args, **kwargs)


def _whatsapp(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def _content_sid(message: OutboundMessage) -> str:
    sids: dict[str, str] = getattr(settings, "TWILIO_CONTENT_SIDS", {}) or {}
    return sids.get(message.template_key, "") if message.template_key else ""


def map_error(exc: Exception) -> ProviderError:
    """Twilio's answer (or the lack of one) as a ProviderError."""
    if isinstance(exc, TwilioRestException):
        code = str(exc.code) if exc.code else f"http_{exc.status}"
        text = exc.msg or f"HTTP {exc.status}"
        if exc.status == 429:
            return ProviderError(code, text, retryable=True)  # throttled: not taken
        if exc.status >= 500:
            # The request arrived; whether a message was created before the error is unknown.
            return ProviderError(code, text, retryable=True, maybe_sent=True)
        return ProviderError(code, text, retryable=False)
    if isinstance(exc, requests.ConnectTimeout):
        return ProviderError("connect_timeout", str(exc), retryable=True)
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, NewConnectionError):
            return ProviderError("connect_failed", str(exc), retryable=True)  # nothing left this host
        return ProviderError("connection_lost", str(exc), retryable=True, maybe_sent=True)
    if isinstance(exc, requests.Timeout):
        return ProviderError("timeout", str(exc), retryable=True, maybe_sent=True)
    if isinstance(exc, (requests.RequestException, TwilioException)):
        return ProviderError("transport", str(exc), retryable=True, maybe_sent=True)
    raise exc


class TwilioProvider:
    name = "twilio"

    def __init__(self) -> None:
        self.key = _config_key()
        if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_WHATSAPP_FROM):
            raise ProviderError("not_configured", "TWILIO_* settings are missing in this process.", True)
        self.account_sid: str = settings.TWILIO_ACCOUNT_SID
        self.from_number: str = settings.TWILIO_WHATSAPP_FROM
        self.api_base: str = getattr(settings, "TWILIO_API_BASE", "") or ""
        self.timeout = tunable("MESSAGE_SEND_TIMEOUT_S", 10.0)
        # No automatic HTTP retries: a blind retry of a POST could send twice; retries
        # are the send job's decision, made with reconciliation.
        http: TwilioHttpClient
        if self.api_base:
            http = RedirectingHttpClient(self.api_base, timeout=self.timeout)
        else:
            http = TwilioHttpClient(timeout=self.timeout)
        self.client = Client(self.account_sid, settings.TWILIO_AUTH_TOKEN, http_client=http)

    def send(self, message: OutboundMessage, *, status_callback: str) -> ProviderReceipt:
        params: dict[str, Any] = {
            "from_": _whatsapp(self.from_number),
            "to": _whatsapp(message.to_number),
            "status_callback": status_callback,
        }
        content_sid = _content_sid(message)
        if content_sid:
            params["content_sid"] = content_sid
            params["content_variables"] = json.dumps(message.template_variables or {})
        else:
            params["body"] = message.body
        try:
            created = self.client.messages.create(**params)
        except Exception as exc:
            raise map_error(exc) from exc
        return ProviderReceipt(sid=str(created.sid), status=str(created.status or "queued"))

    def find_sent(self, message: OutboundMessage) -> ProviderReceipt | None:
        """The provider's record of this message, if a lost attempt did send it.

        Lists recent messages to the number rather than filtering on DateSent: Twilio's
        DateSent filter is per day, and a message still queued at Twilio has no DateSent.
        Matches on text (a template's text contains its variables), skipping records
        already tied to another of our messages.
        """
        since = message.created_at - CLOCK_SKEW
        try:
            records = self.client.messages.list(
                to=_whatsapp(message.to_number), from_=_whatsapp(self.from_number), limit=FIND_LIMIT
            )
        except Exception as exc:
            raise map_error(exc) from exc
        candidates = [
            r
            for r in records
            if (r.date_created is None or r.date_created >= since)
            and (r.direction or "outbound-api").startswith("outbound")
            and _matches(message, r.body or "")
        ]
        if not candidates:
            return None
        taken = set(
            OutboundMessage.objects.filter(provider_sid__in=[r.sid for r in candidates])
            .exclude(pk=message.pk)
            .values_list("provider_sid", flat=True)
        )
        # Oldest first: with two identical texts, the earlier record is the earlier intent's.
        for record in sorted(candidates, key=lambda r: (r.date_created is None, r.date_created)):
            if record.sid not in taken:
                return ProviderReceipt(sid=str(record.sid), status=str(record.status or "sent"))
        return None


def _matches(message: OutboundMessage, text: str) -> bool:
    if text == message.body:
        return True
    values = [str(v) for v in (message.template_variables or {}).values() if str(v)]
    return bool(_content_sid(message) and values and all(v in text for v in values))


_local = threading.local()


def _config_key() -> tuple[object, ...]:
    return (
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_WHATSAPP_FROM,
        getattr(settings, "TWILIO_API_BASE", ""),
        tunable("MESSAGE_SEND_TIMEOUT_S", 10.0),
    )


def twilio_provider() -> TwilioProvider:
    """One client (and HTTP connection pool) per thread and configuration."""
    cached: TwilioProvider | None = getattr(_local, "provider", None)
    if cached is None or cached.key != _config_key():
        cached = _local.provider = TwilioProvider()
    return cached
