"""`/readyz` and `/metrics` (docs/operations.md).

/readyz is open, like /healthz: load balancers and service managers ask it. Its details
name the failing part, never a host or a password.

/metrics answers, in this order:
1. a request from the machine itself (127.0.0.1 or ::1) that came through no proxy (no
   `Forwarded` / `X-Forwarded-For` header: behind a reverse proxy on the same machine
   every request comes from 127.0.0.1);
2. `Authorization: Bearer <METRICS_TOKEN>` when that setting (CREWCALL_METRICS_TOKEN)
   is set, for a Prometheus server on another machine;
3. an admin: signed in, or with an admin's API token as the bearer.
Anyone else gets 403 (401 when there were no credentials at all).
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from crewcall.core.token_auth import bearer_secret, token_of_request
from crewcall.ops.health import readiness
from crewcall.ops.metrics import exposition

PROXY_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    result = readiness()
    return JsonResponse(result.as_dict(), status=200 if result.ready else 503)


def _local(request: HttpRequest) -> bool:
    if any(request.META.get(header) for header in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: HttpRequest) -> bool | None:
    """True: allowed; False: known caller, not allowed; None: no credentials."""
    if _local(request):
        return True
    secret = bearer_secret(request)
    token = getattr(settings, "METRICS_TOKEN", "") or ""
    if secret is not None:
        if token and hmac.compare_digest(secret.encode(), token.encode()):
            return True
        found = token_of_request(request)
        return found is not None and found[0].has_role("admin")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return bool(user.has_role("admin"))
    return None


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    allowed = metrics_allowed(request)
    if not allowed:
        status = 401 if allowed is None else 403
        response = HttpResponse(
            "Metrics are for this machine, the metrics token or an admin.\n",
            status=status,
            content_type="text/plain; charset=utf-8",
        )
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="crewcall-metrics"'
        return response
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
