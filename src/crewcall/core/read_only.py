"""Reads run in read-only transactions (docs/web.md, "Read-only requests").

`ReadOnlyMiddleware` runs the view of every GET, HEAD and OPTIONS request, and of every
request of a viewer (or of an employee's own account), in one transaction declared
`READ ONLY`: a write that slipped into a read fails in PostgreSQL (SQLSTATE 25006) and
nothing is written, and a service called from a read fails at once (its
`atomic(durable=True)` cannot nest). The page also reads from one snapshot. The
transaction always ends with a rollback (it has nothing to commit), and the connection is
read-write again before anything else can use it, even after an exception: none goes back
to the pool read-only.

It opens in `process_view` (after URL resolution, so exemptions go by URL name) and ends
in `__call__` once the view and the inner middleware are done; sessions are saved and
Idempotency-Keys claimed and stored by middleware outside it. Exempt: sign-in, sign-out
and the admin's password change (they write by design); the employee's answer and the
webhooks (their authority is a signature, not the session); the change stream
(long-lived: it must hold no transaction; it gives its connection back and reads through
the hub); the health checks, metrics and API schema (they answer without Django's
connection).

Bookkeeping a read may owe (an API token's `last_used_at`) goes through `after_read_only`:
run at once outside a read-only request, after its transaction inside one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from psycopg import pq

from crewcall.core.middleware import SAFE_METHODS
from crewcall.core.token_auth import token_of_request

logger = logging.getLogger(__name__)

# URL names (with namespace) whose requests may write whatever the method or role.
EXEMPT_VIEWS = frozenset(
    {
        "login",
        "logout",
        "admin:login",
        "admin:logout",
        "admin:password_change",
        # Their authority is a signature (the link, Twilio's), not whoever is signed in.
        "employee-answer",
        "webhook-whatsapp",
        "webhook-status",
        "changes-stream",
        # They answer without Django's connection (readyz checks the database on one of
        # its own): opening a transaction would make them need the database.
        "healthz",
        "readyz",
        "metrics",
        "api:openapi-json",
        "api:openapi-view",
    }
)
# Accounts that may change nothing: viewers, and employees' own accounts (their answers
# go through the signed link, exempt above).
READ_ONLY_ROLES = frozenset({"viewer", "employee"})

# Work deferred until the current read-only request's transaction has ended (None: none open).
_deferred: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "crewcall_read_only_deferred", default=None
)


def after_read_only(callback: Callable[[], None]) -> None:
    """Run `callback` now, or, inside a read-only request, right after its transaction."""
    pending = _deferred.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


@contextlib.contextmanager
def read_only_transaction() -> Iterator[None]:
    """A transaction in which PostgreSQL refuses every write, rolled back at the end.

    Outside a transaction (production): Django's atomic block, begun by psycopg as
    `BEGIN READ ONLY`, so no statement is added. Inside one (the test suite's): a savepoint
    set on the driver's connection, so query-count tests see no extra statement, and an
    atomic block without a savepoint, so a service still refuses to nest."""
    if connection.in_atomic_block:
        with _read_only_savepoint():
            yield
        return
    connection.ensure_connection()
    raw = connection.connection
    raw.read_only = True
    try:
        with transaction.atomic():
            try:
                yield
            finally:
                transaction.set_rollback(True)
    finally:
        _read_write_again(raw)


@contextlib.contextmanager
def _read_only_savepoint() -> Iterator[None]:
    raw = connection.connection
    raw.execute("SAVEPOINT crewcall_read_only")
    raw.execute("SET TRANSACTION READ ONLY")
    try:
        with transaction.atomic(savepoint=False):
            yield
    finally:
        # Undoes whatever the block did, read-only mode included; a failed statement too.
        raw.execute("ROLLBACK TO SAVEPOINT crewcall_read_only")
        raw.execute("RELEASE SAVEPOINT crewcall_read_only")
        connection.needs_rollback = False


def _read_write_again(raw: Any) -> None:
    """The driver's connection may go back to the pool: never with read-only set."""
    try:
        if raw.info.transaction_status != pq.TransactionStatus.IDLE:
            raw.rollback()
        raw.read_only = None
    except Exception:
        # It cannot be reset (broken): closed, the pool drops it instead of lending it.
        logger.warning("closing a connection that could not leave read-only mode", exc_info=True)
        raw.close()


def _viewer(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.role in READ_ONLY_ROLES:
        return True
    found = token_of_request(request)
    return found is not None and found[0].role in READ_ONLY_ROLES


def runs_read_only(request: HttpRequest) -> bool:
    match = request.resolver_match
    if match is not None and match.view_name in EXEMPT_VIEWS:
        return False
    return request.method in SAFE_METHODS or _viewer(request)


class ReadOnlyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> None:
        if not runs_read_only(request):
            return
        stack = contextlib.ExitStack()
        stack.enter_context(read_only_transaction())
        request._read_only = (stack, _deferred.set([]))  # type: ignore[attr-defined]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            opened = request.__dict__.pop("_read_only", None)
            if opened is not None:
                stack, token = opened
                pending = _deferred.get() or []
                _deferred.reset(token)
                stack.close()
                _run_deferred(pending)


def _run_deferred(pending: list[Callable[[], None]]) -> None:
    for callback in pending:
        try:
            callback()
        except DatabaseError:
            # Bookkeeping: the answer is given already; a lost note is logged, not raised.
            logger.warning("deferred write after a read-only request failed", exc_info=True)
