"""The WhatsApp simulator (`/simulator/`, viewers read, dispatchers answer): every
employee's conversation as chat bubbles with each message's delivery status, and answering
as them (Yes/No buttons per open invitation, or free text) through the real, signed
webhook (messaging/simulator.py), so exactly the production code path runs.

Both pages stay live: their parts name the tables they show (`data-live`) and are fetched
again as `?part=<name>` when the change stream reports a change there. Each read costs a
fixed number of queries, whatever the number of employees or messages."""

from __future__ import annotations

from typing import Any
from urllib.error import HTTPError, URLError

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.messaging.selectors import conversation_timeline
from crewcall.messaging.simulator import deliver_reply
from crewcall.people.models import Employee
from crewcall.staffing.models import OPEN_INVITATION_STATUSES, Invitation
from crewcall.ui.access import can_edit, reader
from crewcall.ui.live import render_live

# The list shows the most recent conversations; a search finds any other.
LIST_LIMIT = 100
# A conversation shows its latest messages each way (older ones are in the messages log).
TIMELINE_LIMIT = 200
MESSAGE_TABLES = "messaging_outboundmessage messaging_inboundmessage"
LIST_FRAGMENTS = {"list": "messaging/_conversation_list.html"}
CONVERSATION_FRAGMENTS = {
    "timeline": "messaging/_conversation_timeline.html",
    "answers": "messaging/_conversation_answers.html",
}
LIVE_TABLES = {
    "list": f"{MESSAGE_TABLES} people_employee",
    "timeline": f"{MESSAGE_TABLES} staffing_invitation events_event",
    "answers": "staffing_invitation events_event",
}


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


def _kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def _status_label(status: str, fallback: str) -> str:
    return str(STATUS_LABELS.get(status, fallback))


class SearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search by name"), required=False, max_length=100)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Free text"),
        required=False,
        max_length=1000,
        strip=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "placeholder": gettext_lazy("ja / nein / 👍 / a question …")}
        ),
    )
    payload = forms.RegexField(regex=r"^(YES|NO)_[0-9]{1,18}$", required=False, max_length=40)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "payload" in self.errors:
            return data
        if not (data.get("body") or "").strip() and not data.get("payload"):
            self.add_error("body", _("Type a reply or tap a button."))
        return data


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


def _open_invitations(employee_id: int) -> list[Invitation]:
    return list(
        Invitation.objects.filter(employee_id=employee_id, status__in=OPEN_INVITATION_STATUSES)
        .select_related("event")
        .only("id", "status", "event__id", "event__title", "event__event_date", "event__start_time")
        .order_by("event__event_date", "event__start_time", "id")
    )


def _conversation_context(request: HttpRequest, employee: Employee, form: ReplyForm) -> dict[str, Any]:
    return {
        "employee": employee,
        "timeline": [
            {"entry": e, "kind": _kind_label(e.kind), "status": _status_label(e.status, e.status_label)}
            for e in conversation_timeline(employee_id=employee.pk, limit=TIMELINE_LIMIT)
        ],
        "timeline_limit": TIMELINE_LIMIT,
        "open_invitations": _open_invitations(employee.pk),
        "form": form,
        "can_edit": can_edit(request),
        "live": LIVE_TABLES,
        "page_url": reverse("simulator-conversation", args=[employee.pk]),
    }


def _employee(employee_id: int) -> Employee:
    return get_object_or_404(Employee.objects.only("id", "name", "phone_number"), pk=employee_id)


@reader
def conversation(request: HttpRequest, employee_id: int) -> HttpResponse:
    employee = _employee(employee_id)
    return render_live(
        request,
        "messaging/conversation.html",
        lambda: _conversation_context(request, employee, ReplyForm()),
        fragment=CONVERSATION_FRAGMENTS.get(request.GET.get("part", "")),
    )


@reader  # a POST: dispatchers only
@require_http_methods(["POST"])
def reply(request: HttpRequest, employee_id: int) -> HttpResponse:
    employee = _employee(employee_id)
    form = ReplyForm(request.POST)
    if form.is_valid():
        body, payload = form.cleaned_data["body"], form.cleaned_data["payload"]
        try:
            status = deliver_reply(employee=employee, body=body, button_payload=payload)
        except HTTPError as exc:
            form.add_error(
                None, _("The webhook answered %(status)s; the reply was not taken.") % {"status": exc.code}
            )
        except (URLError, OSError) as exc:
            text = _(
                "The webhook at %(url)s could not be reached (%(reason)s); the reply was not sent. "
                "Is CREWCALL_PUBLIC_URL this installation's address?"
            )
            form.add_error(None, text % {"url": _webhook_base(), "reason": getattr(exc, "reason", exc)})
        else:
            if 200 <= status < 300:
                messages.success(request, _("Sent as %(name)s.") % {"name": employee.name})
                return redirect("simulator-conversation", employee_id=employee.pk)
            form.add_error(
                None, _("The webhook answered %(status)s; the reply was not taken.") % {"status": status}
            )
    # The page again, the typed text kept, the error beside the form (status 200, as the
    # app's other forms answer).
    return render_live(
        request, "messaging/conversation.html", lambda: _conversation_context(request, employee, form)
    )


def _webhook_base() -> str:
    return str(settings.PUBLIC_URL)
