"""Holding a row lock from another connection, for tests of what waits and what does not."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from django.db import connections, models, transaction


@contextlib.contextmanager
def row_locked_elsewhere(model: type[models.Model], pk: int) -> Iterator[None]:
    """The row is locked FOR UPDATE by a transaction on another thread's connection until
    the block ends (as another request or worker in the middle of changing it)."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                model._default_manager.select_for_update().get(pk=pk)
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        if not holding.wait(timeout=10):
            raise AssertionError(f"could not lock {model.__name__} {pk} from another connection")
        yield
    finally:
        release.set()
        holder.join(timeout=30)
