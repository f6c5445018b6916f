"""The WhatsApp simulator: answering as an employee, and delivery reports, through the
real webhooks.

A reply typed on the simulator page becomes the same form post Twilio would send,
signed with the webhook key, and is POSTed over HTTP to this installation's own
`/webhooks/twilio/whatsapp` (CREWCALL_PUBLIC_URL), so exactly the production code path
runs: signature check, de-duplication, parsing, answer, reply.
"""

from __future__ import annotations

import functools
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404
from twilio.request_validator import RequestValidator

from crewcall.people.models import Employee

WEBHOOK_PATH = "/webhooks/twilio/whatsapp"


def simulator_active() -> bool:
    """The simulator is the provider: no Twilio configured."""
    return bool(settings.MESSAGING_PROVIDER == "simulator")


def simulator_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """A simulator page or action: 404 once Twilio is the provider. It signs with the
    webhook key, so with Twilio configured it would answer for an employee with the real
    auth token."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not simulator_active():
            raise Http404("The simulator is off: messages go through Twilio.")
        return view(*args, **kwargs)

    return wrapped


def reply_params(*, employee: Employee, body: str, button_payload: str = "") -> dict[str, str]:
    params = {
        "MessageSid": "SMsim" + uuid.uuid4().hex,
        "AccountSid": settings.TWILIO_ACCOUNT_SID or "ACsimulator",
        "From": f"whatsapp:{employee.phone_number}",
        "To": f"whatsapp:{settings.TWILIO_WHATSAPP_FROM or '+10000000000'}",
        "Body": body,
        "NumMedia": "0",
        "ProfileName": employee.name,
    }
    if button_payload:
        params["ButtonPayload"] = button_payload
        params["ButtonText"] = "Yes" if button_payload.upper().startswith("YES") else "No"
    return params


def deliver_status(
    *, message_id: int, provider_sid: str, status: str = "delivered", timeout: float = 10.0
) -> int:
    """POST a signed delivery status callback to ourselves, as Twilio would after a send."""
    url = f"{settings.PUBLIC_URL}/webhooks/twilio/status?m={message_id}"
    params = {
        "MessageSid": provider_sid,
        "MessageStatus": status,
        "AccountSid": settings.TWILIO_ACCOUNT_SID or "ACsimulator",
    }
    return _post_signed(url, params, timeout=timeout)


def _post_signed(url: str, params: dict[str, str], *, timeout: float) -> int:
    signature = RequestValidator(settings.WEBHOOK_AUTH_TOKEN).compute_signature(url, params)
    request = urllib.request.Request(  # noqa: S310 - our own public URL, http(s) checked by settings
        url, data=urlencode(params).encode(), headers={"X-Twilio-Signature": signature}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return int(response.status)


def deliver_reply(*, employee: Employee, body: str, button_payload: str = "", timeout: float = 10.0) -> int:
    """POST a signed inbound webhook to ourselves; returns the HTTP status. Never called
    inside a transaction: the webhook runs its own."""
    params = reply_params(employee=employee, body=body, button_payload=button_payload)
    return _post_signed(settings.PUBLIC_URL + WEBHOOK_PATH, params, timeout=timeout)
