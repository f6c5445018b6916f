from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from crewcall.ui.access import reader
from crewcall.ui.live import render_live
from crewcall.web import selectors


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Database readiness is /readyz (operations issue)."""
    return JsonResponse({"status": "ok"})


@reader  # an employee's own account has no business here
def dashboard(request: HttpRequest) -> HttpResponse:
    return render_live(
        request, "web/dashboard.html", selectors.dashboard, fragment="web/_dashboard_live.html"
    )
