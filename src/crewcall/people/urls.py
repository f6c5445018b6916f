"""The dispatcher's pages of this app (mounted in crewcall/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "people"
urlpatterns: list[URLPattern] = []
