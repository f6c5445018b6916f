"""Operations endpoints (readiness, metrics) and the KPI page, mounted at the site's root."""

from __future__ import annotations

from django.urls import URLPattern, path

from crewcall.ops import pages, views

urlpatterns: list[URLPattern] = [
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("operations/", pages.kpis, name="ops-kpis"),
]
