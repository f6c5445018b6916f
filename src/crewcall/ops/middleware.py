"""Measures every HTTP request for /metrics and makes the request known to the JSON logs.

Add it first in MIDDLEWARE, so it times everything else. Per request it records:

- latency by route (the URL pattern, never the raw path), method and status class;
- time spent in database statements (and their number), through a
  `connection.execute_wrapper` on this thread's default connection;
- an error category: the API's problem code (`application/problem+json` answers carry
  it), or the code a page answer names (`error_code`: `unavailable` on the 503 page of
  ui/errors.py), else `server_5xx` for a 5xx, `page_4xx` / `webhook_4xx` / `api_4xx`
  for a 4xx.

A streaming answer (the change stream) is measured up to the moment its response starts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from crewcall.core.middleware import source_for_path
from crewcall.core.telemetry import ERRORS, REQUEST_DB_QUERIES, REQUEST_DB_TIME, REQUEST_LATENCY
from crewcall.ops import logs

PROBLEM_TYPE = "application/problem+json"
# Problem bodies are small; a larger one is not read for its code.
PROBLEM_READ_LIMIT = 64 * 1024
# Any other method is counted as OTHER: a label value per made-up method would grow unbounded.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _DatabaseTimer:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def route_of(request: HttpRequest) -> str:
    """The URL pattern the request matched (`/events/<int:event_id>/`), or a fixed word."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        if match.route:
            return "/" + match.route.lstrip("^")
        return match.view_name or "unnamed"
    static = "/" + settings.STATIC_URL.lstrip("/")
    if request.path.startswith(static):
        return "static"
    return "unmatched"


def problem_code(response: HttpResponseBase) -> str | None:
    if not response.get("Content-Type", "").startswith(PROBLEM_TYPE):
        return None
    if getattr(response, "streaming", False):
        return "problem"
    content = getattr(response, "content", b"")
    if len(content) > PROBLEM_READ_LIMIT:
        return "problem"
    try:
        code = json.loads(content).get("code")
    except (ValueError, AttributeError):
        return "problem"
    return str(code) if code else "problem"


def error_category(request: HttpRequest, response: HttpResponseBase) -> str | None:
    code = problem_code(response) or getattr(response, "error_code", None)
    if code is not None:
        return code
    status = response.status_code
    if status >= 500:
        return "server_5xx"
    if status >= 400:
        kind = {"web": "page", "api": "api", "webhook": "webhook"}[source_for_path(request.path)]
        return f"{kind}_4xx"
    return None


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timer = _DatabaseTimer()
        bound = logs.bind_request(request)
        started = time.perf_counter()
        status = 500
        response: HttpResponse | None = None
        try:
            with connection.execute_wrapper(timer):
                response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            logs.unbind_request(bound)
            self._record(request, response, status, time.perf_counter() - started, timer)

    @staticmethod
    def _record(
        request: HttpRequest,
        response: HttpResponse | None,
        status: int,
        elapsed: float,
        timer: _DatabaseTimer,
    ) -> None:
        route = route_of(request)
        method = request.method if request.method in METHODS else "OTHER"
        REQUEST_LATENCY.labels(route=route, method=method, status=f"{status // 100}xx").observe(elapsed)
        REQUEST_DB_TIME.labels(route=route, method=method).observe(timer.seconds)
        if timer.queries:
            REQUEST_DB_QUERIES.labels(route=route, method=method).inc(timer.queries)
        category = error_category(request, response) if response is not None else "server_5xx"
        if category is not None:
            ERRORS.labels(route=route, category=category).inc()
