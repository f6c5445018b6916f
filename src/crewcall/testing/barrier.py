"""A barrier inside PostgreSQL, for control tests that must show a race deterministically.

The test holds an exclusive advisory lock; a trigger variant under test waits for a
shared one at the point where the race window is. Once every racing transaction waits
there (visible in pg_locks), the test lets them all go at once: no timing involved.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from django.db import connection, connections

from crewcall.testing.owner import as_owner

WAIT_SQL = "PERFORM pg_advisory_xact_lock_shared({key});"


class Barrier(Protocol):
    def release_when_waiting(self, count: int, *, timeout: float = 60.0) -> None: ...

    def release(self) -> None: ...


@contextmanager
def database_barrier(key: int) -> Iterator[Barrier]:
    holder = connections.create_connection("default")
    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", [key])

    class _Barrier:
        released = False

        def release_when_waiting(self, count: int, *, timeout: float = 60.0) -> None:
            deadline = time.monotonic() + timeout
            while True:
                with holder.cursor() as cur:
                    cur.execute(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s"
                        " AND classid = 0 AND NOT granted",
                        [key],
                    )
                    waiting = cur.fetchone()[0]
                if waiting >= count:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"only {waiting} of {count} transactions reached the barrier")
                time.sleep(0.02)
            self.release()

        def release(self) -> None:
            if not self.released:
                with holder.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", [key])
                self.released = True

    barrier = _Barrier()
    try:
        yield barrier
    finally:
        barrier.release()
        holder.close()


LAST_LINE = "RETURN NEW;\nEND"


@contextmanager
def trigger_without_lock(function: str, *, lock_line: str, barrier_key: int) -> Iterator[None]:
    """Swap in the real trigger function minus its row lock (`lock_line` without
    FOR UPDATE), each transaction held at the barrier after all its checks; restored after.
    The control half of a race test: it shows what the lock prevents."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_get_functiondef(%s::regproc)", [function])
        original = cur.fetchone()[0]
    assert lock_line in original and original.count(LAST_LINE) == 1, f"{function} changed shape"
    variant = original.replace(lock_line, lock_line.replace(" FOR UPDATE", ""), 1)
    variant = variant.replace(LAST_LINE, WAIT_SQL.format(key=barrier_key) + LAST_LINE, 1)
    # Replacing a function is the owner's right (the tests using this are transactional).
    as_owner(variant)
    try:
        yield
    finally:
        as_owner(original)
