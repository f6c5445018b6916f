"""The messages log and the dispatchers' inbox (mounted in crewcall/urls.py at /messages/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from crewcall.messaging import inbox_pages, pages

app_name = "messaging"
urlpatterns: list[URLPattern] = [
    path("", pages.message_log, name="log"),
    path("inbox/", inbox_pages.inbox, name="inbox"),
    path("inbox/count", inbox_pages.inbox_badge, name="inbox-count"),
    path("inbox/<int:message_id>/handled", inbox_pages.inbox_handled, name="inbox-handled"),
]
