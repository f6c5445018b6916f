"""Building webhook requests signed the way Twilio signs them (the SDK's own validator)."""

from __future__ import annotations

import itertools

from django.conf import settings
from twilio.request_validator import RequestValidator

_sids = itertools.count(1)


def new_sid(prefix: str = "SM") -> str:
    return f"{prefix}{next(_sids):032d}"


def signed_headers(path: str, params: dict[str, str], *, token: str | None = None) -> dict[str, str]:
    url = settings.PUBLIC_URL + path
    signature = RequestValidator(token or settings.WEBHOOK_AUTH_TOKEN).compute_signature(url, params)
    return {"HTTP_X_TWILIO_SIGNATURE": signature}


def inbound_params(phone: str, body: str = "", *, payload: str = "", sid: str | None = None,
                   replied_to: str = "") -> dict[str, str]:  # fmt: skip
    params = {
        "MessageSid": sid or new_sid(),
        "From": f"whatsapp:{phone}",
        "To": "whatsapp:+4930123456",
        "Body": body,
        "NumMedia": "0",
    }
    if payload:
        params["ButtonPayload"] = payload
        params["ButtonText"] = payload.split("_")[0].title()
    if replied_to:
        params["OriginalRepliedMessageSid"] = replied_to
    return params


def whatsapp_says(phone: str, body: str) -> int:
    """An employee's WhatsApp message as the webhook stores it, then applied by the job
    (as the worker would); returns the inbound message's id."""
    from crewcall.messaging.inbound import inbound_receive
    from crewcall.staffing.tasks import apply_inbound

    params = inbound_params(phone, body)
    received = inbound_receive(
        provider_sid=params["MessageSid"], from_number=params["From"], body=body, raw=params
    )
    apply_inbound()
    return received.message_id
