"""One conversation of the WhatsApp simulator (`/simulator/<employee>/`, viewers read,
dispatchers answer): the employee's messages as chat bubbles with each one's delivery
status, and answering as them (Yes/No buttons per open invitation, or free text) through
the real, signed webhook (messaging/simulator.py), so exactly the production code path
runs. Staffing's page because it lists the employee's open invitations; the list of
conversations is messaging's (crewcall.messaging.views).

The page stays live: its parts name the tables they show (`data-live`) and are fetched
again as `?part=<name>` when the change stream reports a change there. Each read costs a
fixed number of queries, whatever the number of messages."""

from __future__ import annotations

from typing import Any
from urllib.error import HTTPError, URLError

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from crewcall.messaging.selectors import conversation_timeline
from crewcall.messaging.simulator import deliver_reply, simulator_only
from crewcall.messaging.views import MESSAGE_TABLES, kind_label, status_label
from crewcall.people.models import Employee
from crewcall.staffing.models import OPEN_INVITATION_STATUSES, Invitation
from crewcall.ui.access import can_edit, reader
from crewcall.ui.live import render_live

# A conversation shows its latest messages each way (older ones are in the messages log).
TIMELINE_LIMIT = 200
CONVERSATION_FRAGMENTS = {
    "timeline": "messaging/_conversation_timeline.html",
    "answers": "messaging/_conversation_answers.html",
}
LIVE_TABLES = {
    "timeline": f"{MESSAGE_TABLES} staffing_invitation events_event",
    "answers": "staffing_invitation events_event",
}


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
            {"entry": e, "kind": kind_label(e.kind), "status": status_label(e.status, e.status_label)}
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


@simulator_only
@reader
def conversation(request: HttpRequest, employee_id: int) -> HttpResponse:
    employee = _employee(employee_id)
    return render_live(
        request,
        "messaging/conversation.html",
        lambda: _conversation_context(request, employee, ReplyForm()),
        fragment=CONVERSATION_FRAGMENTS.get(request.GET.get("part", "")),
    )


@simulator_only
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
