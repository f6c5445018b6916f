"""`/messages/inbox/`: the messages waiting for a person (messaging/inbox.py), with
"Handled" for dispatchers; `/messages/inbox/count`, the header's badge (loaded by htmx
after the page, so no page pays for it, and refreshed live)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crewcall.accounts.requests import SignedInRequest
from crewcall.messaging.inbox import INBOX_LIMIT, inbound_mark_handled, inbox_count, inbox_filter
from crewcall.ui.access import can_edit, editor, reader
from crewcall.ui.live import render_live
from crewcall.ui.writes import run_write

LIVE = "messaging_inboundmessage"


def inbox_context(request: HttpRequest) -> dict[str, Any]:
    waiting = list(inbox_filter()[: INBOX_LIMIT + 1])
    return {
        "waiting": waiting[:INBOX_LIMIT],
        "more": len(waiting) > INBOX_LIMIT,
        "can_edit": can_edit(request),
        "live_table": LIVE,
    }


@reader
def inbox(request: HttpRequest) -> HttpResponse:
    return render_live(
        request, "messaging/inbox.html", lambda: inbox_context(request), fragment="messaging/_inbox_list.html"
    )


@reader
def inbox_badge(request: HttpRequest) -> HttpResponse:
    return render(request, "messaging/_inbox_badge.html", {"count": inbox_count(), "live_table": LIVE})


@editor
@require_POST
def inbox_handled(request: SignedInRequest, message_id: int) -> HttpResponse:
    written = run_write(
        request, lambda: inbound_mark_handled(actor=request.user, message_id=message_id), missing=True
    )
    if written.answer is not None:
        return written.answer
    if written.ok:
        messages.success(request, _("Marked as handled."))
    return HttpResponseRedirect(reverse("messaging:inbox"))
