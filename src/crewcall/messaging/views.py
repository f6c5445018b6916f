"""The simulator pages: every employee's WhatsApp conversation, and answering as them."""

from __future__ import annotations

from itertools import chain
from typing import Any
from urllib.error import URLError

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.messaging.simulator import deliver_reply
from crewcall.people.models import Employee
from crewcall.staffing.models import Invitation


@staff_member_required
def conversations(request: HttpRequest) -> HttpResponse:
    latest = (
        Employee.objects.filter(outbound_messages__isnull=False)
        .annotate(last_message=Max("outbound_messages__created_at"))
        .order_by("-last_message")[:100]
    )
    return render(request, "messaging/conversations.html", {"employees": latest})


@staff_member_required
def conversation(request: HttpRequest, employee_id: int) -> HttpResponse:
    employee = get_object_or_404(Employee, pk=employee_id)
    sent = OutboundMessage.objects.filter(employee=employee).select_related("event")
    received = InboundMessage.objects.filter(employee=employee)
    timeline: list[dict[str, Any]] = sorted(
        chain(
            ({"at": m.created_at, "out": True, "text": m.body, "status": m.status, "kind": m.kind}
             for m in sent),
            ({"at": m.received_at, "out": False, "text": m.body or m.button_payload, "status": m.outcome,
              "kind": "reply"} for m in received),
        ),
        key=lambda item: item["at"],
    )  # fmt: skip
    open_invitations = Invitation.objects.filter(
        employee=employee, status__in=["asked", "waitlisted", "accepted"]
    ).select_related("event")
    return render(
        request,
        "messaging/conversation.html",
        {"employee": employee, "timeline": timeline, "open_invitations": open_invitations},
    )


@staff_member_required
@require_POST
def reply(request: HttpRequest, employee_id: int) -> HttpResponse:
    employee = get_object_or_404(Employee, pk=employee_id)
    body = request.POST.get("body", "")[:1000]
    payload = request.POST.get("payload", "")[:40]
    if not body.strip() and not payload:
        messages.error(request, "Type a reply or tap a button.")
        return redirect("simulator-conversation", employee_id=employee.pk)
    try:
        status = deliver_reply(employee=employee, body=body, button_payload=payload)
    except (URLError, OSError) as exc:
        messages.error(request, f"The webhook at CREWCALL_PUBLIC_URL could not be reached: {exc}")
    else:
        if status != 200:
            messages.error(request, f"The webhook answered {status}.")
    return redirect("simulator-conversation", employee_id=employee.pk)
