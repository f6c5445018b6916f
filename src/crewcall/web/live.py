"""Rendering a page that stays live (static/crewcall/live.js).

The page carries the change-feed cursor taken *before* its data is read: every change
committed after the read has a later position, so the browser's stream, started from
there, misses nothing the page does not show (a change from just before may come again;
a refresh is idempotent). A cursor taken while rendering, after the read, could miss one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crewcall.changes.selectors import current_cursor


def render_live(
    request: HttpRequest, template: str, read: Callable[[], Mapping[str, Any]]
) -> HttpResponse:
    cursor = current_cursor()
    return render(request, template, {**read(), "live_cursor": str(cursor)})
