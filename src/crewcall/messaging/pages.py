"""The messages log (`/messages/`, viewers and up): what went out, how it fared, and what
came back. Reads only; each list is one keyset-paginated query with its employee and event
joined, so the page costs the same number of queries whatever the data size."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext_lazy as _

from crewcall.core.api.pagination import Sort, keyset_page
from crewcall.core.api.problems import ApiProblem
from crewcall.messaging import selectors
from crewcall.messaging.models import FOR_A_PERSON, DeliveryStatus, InboundOutcome, MessageKind
from crewcall.ui.access import can_edit, reader
from crewcall.ui.live import render_live

PAGE_SIZE = 50
NEWEST_SENT = Sort(field="created_at", descending=True)
NEWEST_RECEIVED = Sort(field="received_at", descending=True)
BAD_DELIVERY = frozenset({"failed", "undelivered"})


class LogFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Delivery status"), required=False, choices=[("", _("Any status")), *DeliveryStatus.choices]
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *MessageKind.choices]
    )
    outcome = forms.ChoiceField(
        label=_("Reply outcome"), required=False, choices=[("", _("Any outcome")), *InboundOutcome.choices]
    )

    def value(self, name: str) -> str | None:
        return (self.cleaned_data.get(name) or None) if self.is_valid() else None


def _page(qs: Any, sort: Sort, request: HttpRequest, key: str) -> tuple[list[Any], str | None, str | None]:
    """(rows, query string of the next page, query string of the first page)."""
    after = request.GET.get(key) or None
    try:
        rows, cursor = keyset_page(qs, sort=sort, after=after, limit=PAGE_SIZE)
    except ApiProblem:  # a cursor this page never gave out: start from the top
        after = None
        rows, cursor = keyset_page(qs, sort=sort, after=None, limit=PAGE_SIZE)
    more = first = None
    if cursor:
        query: QueryDict = request.GET.copy()
        query[key] = cursor
        more = query.urlencode()
    if after:
        query = request.GET.copy()
        query.pop(key, None)
        first = query.urlencode() or f"{key}="
    return rows, more, first


def log_context(request: HttpRequest) -> dict[str, Any]:
    form = LogFilterForm(request.GET or None)
    outbound = (
        selectors.outbound_filter(status=form.value("status"), kind=form.value("kind"))
        .select_related("event")
        .defer("body", "template_variables", "event__description", "event__specialties")
    )
    inbound = selectors.inbound_filter(outcome=form.value("outcome"))
    sent, sent_more, sent_first = _page(outbound, NEWEST_SENT, request, "after")
    received, received_more, received_first = _page(inbound, NEWEST_RECEIVED, request, "in_after")
    editor = can_edit(request)
    return {
        "filter_form": form,
        "sent": [{"m": m, "bad": m.status in BAD_DELIVERY} for m in sent],
        "sent_more": sent_more,
        "sent_first": sent_first,
        "received": [{"m": m, "attention": editor and m.outcome in FOR_A_PERSON} for m in received],
        "received_more": received_more,
        "received_first": received_first,
        "can_edit": editor,
    }


@reader
def message_log(request: HttpRequest) -> HttpResponse:
    """The whole page, or for htmx (filters changed, or a live refresh) the lists alone."""
    return render_live(
        request, "messaging/log.html", lambda: log_context(request), fragment="messaging/_log_lists.html"
    )
