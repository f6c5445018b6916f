"""Structured logs: one JSON object per line (docs/operations.md).

`JsonFormatter` writes `time` (UTC, ISO 8601), `level`, `logger`, `message`, the request
context of crewcall.core.context (`request_id`, `source`), the acting user (`actor`,
`actor_id`), `exception` (the traceback text) when there is one, and any `extra=` fields
given to the log call that JSON can hold.

Where the actor comes from: a service names it (`@service` binds its `actor` argument for
the time the service runs, core/transactions.py and core/context.py), which covers the worker and CLI too;
otherwise, during an HTTP request (ops/middleware.py binds the request; Django's own
`django.request` lines carry it), the API's authenticated caller (`request.auth`) or the
signed-in user, if the request has looked them up already: logging never queries the
database itself.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from django.utils.functional import empty

from crewcall.core import context as request_context
from crewcall.core.context import Actor, bound_actor
from crewcall.core.middleware import source_for_path

_request: ContextVar[HttpRequest | None] = ContextVar("crewcall_log_request", default=None)


def bind_request(request: HttpRequest) -> Token[HttpRequest | None]:
    return _request.set(request)


def unbind_request(token: Token[HttpRequest | None]) -> None:
    _request.reset(token)


def _user_of(request: HttpRequest) -> Any:
    auth = getattr(request, "auth", None)  # django-ninja's authenticated caller
    if getattr(auth, "pk", None) is not None:
        return auth
    user = request.__dict__.get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)  # AuthenticationMiddleware's lazy user
    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return wrapped


def current_actor(request: HttpRequest | None = None) -> Actor | None:
    bound = bound_actor()
    if bound is not None:
        return bound
    request = request or _request.get()
    if request is None:
        return None
    user = _user_of(request)
    if user is None:
        return None
    return (user.pk, getattr(user, "username", None))


# LogRecord's own attributes: everything else on a record came from `extra=`.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ctx = request_context._current.get()  # None outside a request, job or command
        # Django logs a request's 4xx/5xx after every middleware is done, with the request.
        request = getattr(record, "request", None)
        request = request if isinstance(request, HttpRequest) else None
        actor = current_actor(request)
        request_id = ctx.request_id if ctx else getattr(request, "request_id", None)
        source = ctx.source if ctx else (source_for_path(request.path) if request is not None else None)
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id,
            "source": source,
            "actor": actor[1] if actor else None,
            "actor_id": actor[0] if actor else None,
        }
        if record.exc_text:  # set (and redacted) by RedactFilter
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.stack_info:
            entry["stack"] = record.stack_info
        for key, value in vars(record).items():
            if key in _RECORD_FIELDS or key in entry or key.startswith("_") or key == "request":
                continue
            entry[key] = value if _jsonable(value) else repr(value)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


# What no log line may carry (docs/operations.md, "Logs"): an employee's signed link, the
# values of a query string (searches hold names and phone numbers), a phone number.
_EMPLOYEE_LINK = re.compile(r"/r/[^/\s\"?]+")
_QUERY_VALUE = re.compile(r"=[^&\s\"]*")
_QUERY = re.compile(r"\?[^\s\"]+")
_PHONE = re.compile(r"\+?\b\d[\d ]{7,}\d\b")


def redact(message: str) -> str:
    message = _EMPLOYEE_LINK.sub("/r/[link]", message)
    message = _QUERY.sub(lambda m: _QUERY_VALUE.sub("=…", m.group(0)), message)
    return _PHONE.sub("[phone]", message)


class RedactFilter(logging.Filter):
    """On the handler: every record leaves with its message redacted (and its arguments
    folded in, so nothing unredacted is left on it for a formatter to print)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        # What else a formatter prints: the `extra=` fields, the traceback (its text is
        # made here, redacted; formatters print a record's exc_text when it has one) and
        # the stack.
        for key, value in list(vars(record).items()):
            if key not in _RECORD_FIELDS and not key.startswith("_") and key != "request":
                setattr(record, key, _redacted(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RefusalFilter(logging.Filter):
    """On `django.request`: a refusal (403 from PermissionDenied, 400 from a suspicious
    request) is an answer, not a fault. Django logs it with the exception's traceback;
    the warning line stays, the traceback goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in (400, 403):
            record.exc_info = None
            record.exc_text = None
        return True


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redacted(item) for item in value)
    return value
