"""The messages log (mounted in crewcall/urls.py at /messages/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from crewcall.messaging import pages

app_name = "messaging"
urlpatterns: list[URLPattern] = [
    path("", pages.message_log, name="log"),
]
