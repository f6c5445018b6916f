"""The web entry point: one ASGI application for uvicorn, two ways into Django.

Ordinary requests (pages, API calls, webhooks) are short and synchronous. Django's ASGI
handler runs them with a thread hop per middleware step (every middleware in the stack
is sync, so async mode adapts each one), which measured about four times slower than
Django's WSGI handler in a thread pool (`docs/performance.md`). So they go through the
WSGI handler, run by a2wsgi on a bounded pool of threads. Only long-lived streaming
responses, which must not hold a thread each, use Django's ASGI handler.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crewcall.settings")

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

# Paths served by async views (event streams); everything else is synchronous.
STREAMING_PATHS: tuple[str, ...] = ("/api/v1/changes",)

_streaming = get_asgi_application()
_threaded = WSGIMiddleware(get_wsgi_application(), workers=settings.WEB_THREADS)  # type: ignore[arg-type]


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and not scope["path"].startswith(STREAMING_PATHS):
        await _threaded(scope, receive, send)  # type: ignore[arg-type]
    else:
        await _streaming(scope, receive, send)
