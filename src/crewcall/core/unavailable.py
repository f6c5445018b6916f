"""Which failures mean "the database cannot answer right now" (503), not a bug (500).

Every entry point answers them with 503 and `Retry-After` (docs/api.md, docs/operations.md):
the API and webhooks with problem+json (core/api/problems.py), pages with a page of their
own (ui/errors.py, Django's handler500, which sees every exception no layer answered:
middleware, views, template rendering).

- `unavailable`: the server cannot be reached or went away (no SQLSTATE: refused, reset,
  closed; class 08; 57P01-03: shut down or starting), has no room for us (class 53: too
  many connections, out of memory or disk), or the pool had no connection to lend within
  its time-out (psycopg_pool's PoolTimeout and TooManyRequests carry no SQLSTATE);
  any InterfaceError (a connection already closed).
- `busy`: the server answered but would not wait: a lock time-out, a serialization
  failure or deadlock that outlived the retries, a statement time-out.

Any other OperationalError (a program limit, say) is no reason to retry: not ours.
"""

from __future__ import annotations

import psycopg
from django.db import InterfaceError, OperationalError

from crewcall.core.db_failures import LOCK_NOT_AVAILABLE, RETRYABLE, connection_lost, sqlstate

RETRY_AFTER_S = 5  # a database restart takes a few seconds
QUERY_CANCELED = "57014"
INSUFFICIENT_RESOURCES = "53"
_OPERATIONAL = (OperationalError, psycopg.OperationalError)
_INTERFACE = (InterfaceError, psycopg.InterfaceError)
_CHAIN_LIMIT = 8


def unavailable_code(exc: BaseException | None) -> str | None:
    """`unavailable`, `busy` or None for `exc`, or for an error it was raised from or
    while handling (Django wraps psycopg's errors; a failed query can surface later as
    another error)."""
    for _ in range(_CHAIN_LIMIT):
        if exc is None:
            return None
        if isinstance(exc, _INTERFACE):
            return "unavailable"
        if isinstance(exc, _OPERATIONAL):
            state = sqlstate(exc)
            if state in RETRYABLE or state in (LOCK_NOT_AVAILABLE, QUERY_CANCELED):
                return "busy"
            if connection_lost(state) or (state or "").startswith(INSUFFICIENT_RESOURCES):
                return "unavailable"
            return None
        exc = exc.__cause__ or exc.__context__
    return None
