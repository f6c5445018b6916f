"""The WhatsApp simulator's list (`/simulator/`): every employee who got or sent a
message, latest conversation first, with a search. One conversation, answered as the
employee (Yes/No per open invitation), shows invitations, so it is staffing's page
(crewcall.staffing.views.simulator); the labels below serve both.

The list stays live: it names the tables it shows (`data-live`) and is fetched again
when the change stream reports a change there. One query, whatever the number of
employees or messages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy

from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.messaging.simulator import simulator_only
from crewcall.people.models import Employee
from crewcall.ui.access import reader
from crewcall.ui.live import render_live

# The list shows the most recent conversations; a search finds any other.
LIST_LIMIT = 100
MESSAGE_TABLES = "messaging_outboundmessage messaging_inboundmessage"
LIST_FRAGMENTS = {"list": "messaging/_conversation_list.html"}
LIVE_TABLES = {"list": f"{MESSAGE_TABLES} people_employee"}


# The model's choice labels are not marked for translation; the page's words are.
KIND_LABELS = {
    "invitation": gettext_lazy("Invitation"),
    "confirmation": gettext_lazy("Confirmation"),
    "acknowledgement": gettext_lazy("Acknowledgement"),
    "waitlist": gettext_lazy("Waitlist"),
    "reminder": gettext_lazy("Reminder"),
    "cancellation": gettext_lazy("Cancellation"),
    "nudge": gettext_lazy("Nudge"),
    "clarify": gettext_lazy("Which event?"),
    "help": gettext_lazy("Help"),
    "reply": gettext_lazy("Reply"),
}
STATUS_LABELS = {
    # delivery of a sent message
    "queued": gettext_lazy("queued"),
    "sending": gettext_lazy("sending"),
    "sent": gettext_lazy("sent ✓"),
    "delivered": gettext_lazy("delivered ✓✓"),
    "read": gettext_lazy("read ✓✓"),
    "failed": gettext_lazy("failed"),
    "undelivered": gettext_lazy("undelivered"),
    # outcome of a reply
    "pending": gettext_lazy("not yet applied"),
    "applied": gettext_lazy("applied"),
    "ambiguous": gettext_lazy("asked which event"),
    "unparseable": gettext_lazy("not understood"),
    "unknown_sender": gettext_lazy("unknown sender"),
    "no_open_invitation": gettext_lazy("nothing open to answer"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def status_label(status: str, fallback: str) -> str:
    return str(STATUS_LABELS.get(status, fallback))


class SearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search by name"), required=False, max_length=100)


def _latest(model: type[OutboundMessage] | type[InboundMessage], at: str, field: str) -> Subquery:
    newest = model.objects.filter(employee_id=OuterRef("pk")).order_by(f"-{at}", "-id")
    return Subquery(newest.values(field)[:1])


def conversation_list(*, search: str = "", limit: int = LIST_LIMIT) -> QuerySet[Employee]:
    """Employees who got or sent a message, latest conversation first, each with its
    latest message both ways (one query)."""
    qs = (
        Employee.objects.filter(
            Exists(OutboundMessage.objects.filter(employee_id=OuterRef("pk")))
            | Exists(InboundMessage.objects.filter(employee_id=OuterRef("pk")))
        )
        .annotate(
            last_out_at=_latest(OutboundMessage, "created_at", "created_at"),
            last_out_text=_latest(OutboundMessage, "created_at", "body"),
            last_out_status=_latest(OutboundMessage, "created_at", "status"),
            last_in_at=_latest(InboundMessage, "received_at", "received_at"),
            last_in_text=_latest(InboundMessage, "received_at", "body"),
            last_in_payload=_latest(InboundMessage, "received_at", "button_payload"),
        )
        .annotate(last_at=Greatest("last_out_at", "last_in_at"))  # NULLs ignored by PostgreSQL
        .only("id", "name", "phone_number")
    )
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(phone_number__contains=search))
    return qs.order_by(F("last_at").desc(nulls_last=True), "name", "id")[:limit]


def _rows(employees: QuerySet[Employee]) -> list[dict[str, Any]]:
    rows = []
    for e in employees:
        incoming = e.last_in_at is not None and (e.last_out_at is None or e.last_in_at > e.last_out_at)  # type: ignore[attr-defined]
        rows.append(
            {
                "employee": e,
                "at": e.last_at,  # type: ignore[attr-defined]
                "incoming": incoming,
                "text": (e.last_in_text or e.last_in_payload) if incoming else e.last_out_text,  # type: ignore[attr-defined]
                "status": "" if incoming else e.last_out_status,  # type: ignore[attr-defined]
            }
        )
    return rows


@simulator_only
@reader
def conversations(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    search = form.cleaned_data["q"].strip() if form.is_valid() else ""

    def read() -> dict[str, Any]:
        rows = _rows(conversation_list(search=search))
        return {
            "search_form": form,
            "search": search,
            "rows": rows,
            "truncated": len(rows) >= LIST_LIMIT,
            "live": LIVE_TABLES,
            "list_url": request.get_full_path(),
        }

    # htmx asks for the list alone: a live refresh, or the search typed into.
    return render_live(request, "messaging/conversations.html", read, fragment=LIST_FRAGMENTS["list"])
