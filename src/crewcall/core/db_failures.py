"""The database failures the kernel tells apart, by SQLSTATE: worth a retry, a lock wait,
a lost connection. Services retry on them (core/transactions.py); entry points answer
them with 503 (core/unavailable.py)."""

from __future__ import annotations

SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
LOCK_NOT_AVAILABLE = "55P03"
RETRYABLE = {SERIALIZATION_FAILURE, DEADLOCK_DETECTED}
# The server went away (admin shutdown, crash, restart): the transaction died with it.
SERVER_GONE = {"57P01", "57P02", "57P03"}


def connection_lost(state: str | None) -> bool:
    """No SQLSTATE means the client lost the server; class 08 and 57P0x say so outright."""
    return state is None or state.startswith("08") or state in SERVER_GONE


def sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__ or exc
    return getattr(cause, "sqlstate", None)
