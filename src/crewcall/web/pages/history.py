"""`/history/<kind>/<id>/`: who changed what, when, from where, for one object.

The same reading as the API's history endpoint (`selectors.history_page`), newest first,
keyset-paginated, told in words (web/history_words.py). Viewers may read most kinds;
users and tokens need an admin."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from crewcall.core.api.pagination import Sort
from crewcall.core.api.problems import ApiProblem
from crewcall.ui.access import reader
from crewcall.ui.live import render_live
from crewcall.web import selectors
from crewcall.web.history_words import readable_entries

PAGE_SIZE = 50
NEWEST_FIRST = Sort(field="id", descending=True)
NAME_FIELDS = ("name", "title", "username", "intent_key", "provider_sid")


def history_context(request: HttpRequest, kind: str, object_id: int) -> dict[str, Any]:
    spec = selectors.KINDS.get(kind)
    if spec is None:
        raise Http404(_("There is no such kind of object."))
    if not request.user.has_role(spec.role):  # type: ignore[union-attr]
        raise PermissionDenied
    after = request.GET.get("after") or None
    try:
        items, cursor = selectors.history_page(
            spec, object_id, sort=NEWEST_FIRST, after=after, limit=PAGE_SIZE
        )
    except ApiProblem:  # a cursor this page never gave out: start from the newest
        after = None
        items, cursor = selectors.history_page(
            spec, object_id, sort=NEWEST_FIRST, after=None, limit=PAGE_SIZE
        )
    if not items and not after:
        raise Http404(_("There is no history for this object."))
    latest = items[0]["row"] if items else {}
    name = next((str(latest[f]) for f in NAME_FIELDS if latest.get(f)), "")
    table = apps.get_model(spec.app_label, spec.model)._meta.db_table
    return {
        "kind": kind,
        "object_id": object_id,
        "object_name": name,
        "entries": readable_entries(spec, items),
        "more": cursor,
        "paged": bool(after),
        "live_table": table,
    }


@reader
def history(request: HttpRequest, kind: str, object_id: int) -> HttpResponse:
    return render_live(
        request,
        "web/history.html",
        lambda: history_context(request, kind, object_id),
        fragment="web/_history_entries.html",
    )
