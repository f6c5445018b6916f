"""One transaction per use case, retried on transient failures, with history context.

`@service` wraps a service function (keyword-only arguments, one of them `actor`):

- it opens `transaction.atomic(durable=True)`, so a service can never be nested inside
  another's transaction by accident;
- every history row written inside carries the actor, the source and request id of the
  current request context, and the service's name;
- serialization failures and deadlocks re-run the whole function with bounded
  exponential backoff and jitter; so does a connection lost before the commit was sent
  (not a pool that found no connection within its time-out: that is answered 503);
  a connection lost *during* commit raises CommitOutcomeUnknown (retrying could double);
- a lock wait beyond the lock timeout becomes Busy; a database rule refused becomes a
  RuleViolation naming the field.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import pghistory
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import ProtectedError
from psycopg_pool import PoolTimeout

from crewcall.core import telemetry
from crewcall.core.context import bind_actor, current_context, unbind_actor
from crewcall.core.db_failures import LOCK_NOT_AVAILABLE, RETRYABLE, connection_lost, sqlstate
from crewcall.core.errors import Busy, CommitOutcomeUnknown, RuleViolation
from crewcall.core.idempotency import mark_committed
from crewcall.core.rule_messages import POSTGRES_WORDING, rule_field, rule_message

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

MAX_ATTEMPTS = 5
BASE_DELAY_S = 0.02
MAX_DELAY_S = 0.5

# Statistics for metrics and tests: retries taken and how they ended.
retry_stats: dict[str, int] = {"retried": 0, "recovered": 0, "exhausted": 0}


def _diag(exc: BaseException) -> Any:
    return getattr(exc.__cause__ or exc, "diag", None)


def rule_violation_from(exc: BaseException) -> RuleViolation | None:
    """Map a refused constraint or trigger to the field it guards, or None."""
    diag = _diag(exc)
    if diag is None:
        return None
    state = sqlstate(exc)
    if state is None or not (state.startswith("23") or state == "P0001"):
        return None
    constraint = diag.constraint_name or ""
    field = diag.column_name or rule_field(constraint)
    message = diag.message_primary or str(exc)
    if message.startswith(POSTGRES_WORDING):
        # A plain constraint: say what the rule means, not which SQL object refused.
        message = rule_message(constraint)
    return RuleViolation(field=field, message=message, constraint=constraint)


def _backoff(attempt: int) -> float:
    # Full jitter: spreads retries of colliding transactions apart.
    return random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt))  # noqa: S311


def service(func: Callable[P, R]) -> Callable[P, R]:
    name = f"{func.__module__.rsplit('.', 1)[0].rsplit('.', 1)[-1]}.{func.__name__}"

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        actor = kwargs.get("actor")
        ctx = current_context()
        metadata = {
            "user": getattr(actor, "pk", None),
            "username": getattr(actor, "username", None),
            "source": ctx.source,
            "request_id": ctx.request_id,
            "action": name,
        }
        if ctx.token_id is not None:
            metadata["token"] = ctx.token_id
        attempt = 0
        outcome = "failed"  # how a retried call ended, for the metrics
        bound = bind_actor(actor)  # log lines written inside name the actor
        try:
            while True:
                body_done = False
                try:
                    with pghistory.context(**metadata), transaction.atomic(durable=True):
                        result = func(*args, **kwargs)
                        mark_committed()  # an API request's Idempotency-Key commits with its write
                        body_done = True
                    if attempt:
                        retry_stats["recovered"] += 1
                        outcome = "recovered"
                    return result
                except IntegrityError as exc:
                    violation = rule_violation_from(exc)
                    if violation is None:
                        raise
                    raise violation from exc
                except (OperationalError, InterfaceError) as exc:
                    state = sqlstate(exc)
                    if state == LOCK_NOT_AVAILABLE:
                        raise Busy(
                            "Another change to the same data is in progress; nothing was written. Try again."
                        ) from exc
                    if isinstance(exc.__cause__, PoolTimeout):
                        # No connection within the pool's time-out: waiting that long again
                        # per attempt would keep a client for minutes; it gets 503 now.
                        raise
                    lost = connection_lost(state)
                    transient = state in RETRYABLE or lost
                    if body_done and lost:
                        raise CommitOutcomeUnknown(
                            "The database connection broke while committing; the change may or may "
                            "not be stored. Reload before trying again."
                        ) from exc
                    if not transient:
                        violation = rule_violation_from(exc)
                        if violation is not None:
                            raise violation from exc
                        raise
                    attempt += 1
                    retry_stats["retried"] += 1
                    if attempt >= MAX_ATTEMPTS:
                        retry_stats["exhausted"] += 1
                        outcome = "exhausted"
                        raise
                    telemetry.retry_attempted(name)
                    logger.info(
                        "retrying %s after %s (attempt %d)", name, state or "lost connection", attempt
                    )
                    if lost:
                        connection.close()
                    time.sleep(_backoff(attempt))
                except DatabaseError as exc:
                    violation = rule_violation_from(exc)
                    if violation is None:
                        raise
                    raise violation from exc
                except ProtectedError as exc:
                    # A delete that rows elsewhere still point at (on_delete=PROTECT).
                    kind = next(iter(exc.protected_objects), None)
                    what = kind._meta.verbose_name_plural if kind is not None else "other records"
                    raise RuleViolation(
                        field="__all__",
                        message=f"Still in use by {what}; archive it instead.",
                        constraint="protected",
                    ) from exc
        finally:
            unbind_actor(bound)
            if attempt:
                telemetry.retry_ended(name, outcome)

    wrapper.service_name = name  # type: ignore[attr-defined]
    return wrapper


def lock_rows_in_order(queryset: Any) -> list[Any]:
    """SELECT … FOR UPDATE in primary-key order: a fixed order means no deadlock cycle."""
    return list(queryset.select_for_update().order_by("pk"))
