"""Rendering a page that stays live (static/crewcall/live.js).

The page carries the change-feed cursor taken *before* its data is read: every change
committed after the read has a later position, so the browser's stream, started from
there, misses nothing the page does not show (a change from just before may come again;
a refresh is idempotent). A cursor taken while rendering, after the read, could miss one.

A refresh of one fragment (htmx, see ui/htmx.py) needs no cursor: the stream that asked
for it is already running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse

from crewcall.changes.selectors import current_cursor
from crewcall.ui.htmx import render_page, wants_fragment


def render_live(
    request: HttpRequest,
    template: str,
    read: Callable[[], Mapping[str, Any]],
    *,
    fragment: str | None = None,
) -> HttpResponse:
    """The page `template` with the data `read()` returns and the live cursor, or for an
    htmx refresh only `fragment` (when given) with the same data."""
    if fragment is not None and wants_fragment(request):
        return render_page(request, template, read(), fragment=fragment)
    cursor = current_cursor()
    return render_page(request, template, {**read(), "live_cursor": str(cursor)})
