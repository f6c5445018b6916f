"""Twilio's webhooks: inbound WhatsApp messages and delivery status callbacks.

Both check Twilio's signature against the public URL (CREWCALL_PUBLIC_URL + path): a
forged request gets 403 and leaves nothing but a counter. Valid ones are handed to the
services in crewcall.messaging.inbound, which make them idempotent. An inbound message is
only kept and queued here (one short transaction); the worker applies it. A database too
busy to take it answers 503, and Twilio sends it again.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from crewcall.core.errors import Busy
from crewcall.messaging.inbound import inbound_receive, outbound_status_record

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_SID = re.compile(r"^[A-Za-z0-9]{10,64}$")
_MESSAGE_ID = re.compile(r"^[0-9]{1,18}$")
# The longest each field can be where it is kept; longer is malformed, not cut short.
INBOUND_LIMITS = {"From": 40, "ButtonPayload": 200, "OriginalRepliedMessageSid": 64}
STATUS_LIMITS = {"MessageStatus": 20, "ErrorCode": 40, "ErrorMessage": 2000}


def _malformed(request: HttpRequest, limits: dict[str, int]) -> bool:
    """A NUL anywhere but in the text (PostgreSQL cannot store it; the text loses it), or
    a field longer than it can be kept: refused with 400 rather than failing later."""
    for key, values in request.POST.lists():
        if key != "Body" and ("\x00" in key or any("\x00" in value for value in values)):
            return True
    return any(len(request.POST.get(key, "")) > limit for key, limit in limits.items())


def count_rejection(endpoint: str, reason: str) -> None:
    """The only trace a refused webhook leaves."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "INSERT INTO messaging_webhookrejection (endpoint, reason, count, last_at)"
            " VALUES (%s, %s, 1, now()) ON CONFLICT (endpoint, reason)"
            " DO UPDATE SET count = messaging_webhookrejection.count + 1, last_at = now()",
            [endpoint, reason],
        )


def signature_valid(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = settings.PUBLIC_URL + request.get_full_path()
    params = {key: request.POST.get(key, "") for key in request.POST}
    return bool(RequestValidator(settings.WEBHOOK_AUTH_TOKEN).validate(url, params, signature))


def _refuse(endpoint: str, reason: str, status: int) -> HttpResponse:
    count_rejection(endpoint, reason)
    return HttpResponse(status=status)


@csrf_exempt
@require_POST
def whatsapp_inbound(request: HttpRequest) -> HttpResponse:
    if not signature_valid(request):
        return _refuse("whatsapp", "bad_signature", 403)
    sid = request.POST.get("MessageSid", "")
    sender = request.POST.get("From", "")
    if not _SID.match(sid) or not sender or _malformed(request, INBOUND_LIMITS):
        return _refuse("whatsapp", "malformed", 400)
    try:
        result = inbound_receive(
            provider_sid=sid,
            from_number=sender,
            body=request.POST.get("Body", "").replace("\x00", ""),
            button_payload=request.POST.get("ButtonPayload", ""),
            replied_to_sid=request.POST.get("OriginalRepliedMessageSid", ""),
            raw={key: request.POST.get(key, "").replace("\x00", "") for key in request.POST},
        )
    except Busy:
        return HttpResponse(status=503, headers={"Retry-After": "5"})
    logger.info("inbound %s: %s%s", sid, result.outcome, " (duplicate)" if result.duplicate else "")
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def delivery_status(request: HttpRequest) -> HttpResponse:
    if not signature_valid(request):
        return _refuse("status", "bad_signature", 403)
    sid = request.POST.get("MessageSid", "")
    status = request.POST.get("MessageStatus", "")
    marker = request.GET.get("m", "")
    if not _SID.match(sid) or not status or _malformed(request, STATUS_LIMITS):
        return _refuse("status", "malformed", 400)
    if marker and not _MESSAGE_ID.match(marker):  # "²" is a digit to str.isdigit, not to int()
        return _refuse("status", "malformed", 400)
    outbound_status_record(
        provider_sid=sid,
        status=status,
        error_code=request.POST.get("ErrorCode", ""),
        error_message=request.POST.get("ErrorMessage", ""),
        message_id=int(marker) if marker else None,
    )
    return HttpResponse(status=204)
