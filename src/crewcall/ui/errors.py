"""Django's handler500: the answer to every exception no layer answered itself.

Django calls it from inside the `except` of whichever middleware or view raised (each
middleware is wrapped so), so it covers sessions, sign-in, django-axes, idempotency,
the request context, metrics, views and template rendering alike. A database that
cannot answer (core/unavailable.py) gets 503 with `Retry-After`: problem+json under
/api/ and /webhooks/ (Twilio retries a status callback on 5xx), else a page in the
site's style. Anything else stays a 500 (problem+json under /api/ and /webhooks/).

The page is drawn without the database: no request context (the context processors
would look the user up, the messages would read the session), the language from the
cookie or Accept-Language alone. (With CREWCALL_DEBUG Django shows its debug page
instead, as for any error.)
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils import translation
from django.views import defaults

from crewcall.core.api.problems import problem_response, server_error_problem, unavailable_problem
from crewcall.core.middleware import SAFE_METHODS, source_for_path
from crewcall.core.unavailable import RETRY_AFTER_S, unavailable_code


def server_error(request: HttpRequest) -> HttpResponse:
    code = unavailable_code(sys.exc_info()[1])
    machine = source_for_path(request.path) in ("api", "webhook")
    with translation.override(translation.get_language_from_request(request)):
        if code is None:
            if machine:
                return problem_response(request, server_error_problem())
            return defaults.server_error(request)
        if machine:
            response = problem_response(request, unavailable_problem(code))
        else:
            response = unavailable_page(request, code)
    response.error_code = code  # type: ignore[attr-defined]  # counted by ops/middleware.py
    return response


def unavailable_page(request: HttpRequest, code: str) -> HttpResponse:
    context = {
        "busy": code == "busy",
        "path": request.get_full_path(),
        "was_change": request.method not in SAFE_METHODS,
    }
    html = loader.get_template("web/unavailable.html").render(context)
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response
