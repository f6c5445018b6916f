"""The KPI page (admins): is the data consistent, are requests failing or slow, do
retries and the breaker recover, does the change stream keep up, do messages arrive, did
the last canary pass. Refreshes itself every 15 seconds (htmx), figures in ops/kpis.py."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from crewcall.ops.kpis import kpi_figures
from crewcall.ui.access import admin_only
from crewcall.ui.htmx import render_page


@admin_only
def kpis(request: HttpRequest) -> HttpResponse:
    return render_page(request, "ops/kpis.html", {"kpis": kpi_figures()}, fragment="ops/_kpis.html")
