"""Web pages of the `web` app beyond the dashboard (mounted in crewcall/urls.py at the root)."""

from __future__ import annotations

from django.urls import URLPattern, path

from crewcall.web.pages import history

app_name = "web"
urlpatterns: list[URLPattern] = [
    path("history/<slug:kind>/<int:object_id>/", history.history, name="history"),
]
