from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse

from crewcall.ui.live import render_live
from crewcall.web import selectors


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Database readiness is /readyz (operations issue)."""
    return JsonResponse({"status": "ok"})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render_live(
        request, "web/dashboard.html", selectors.dashboard, fragment="web/_dashboard_live.html"
    )
