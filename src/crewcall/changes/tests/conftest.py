"""Helpers for the change feed tests: writers on connections of their own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.db import connections


class Writer:
    """A second database connection with an explicit transaction, so a test can hold a
    transaction open (with its xid) while others commit around it."""

    def __init__(self) -> None:
        self.conn = connections.create_connection("default")
        self.conn.ensure_connection()
        self.conn.set_autocommit(False)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def xid(self) -> int:
        return int(self.execute("SELECT pg_current_xact_id()::text")[0][0])

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def writers() -> Iterator[Any]:
    opened: list[Writer] = []

    def make() -> Writer:
        opened.append(Writer())
        return opened[-1]

    yield make
    for writer in opened:
        try:
            writer.rollback()
        finally:
            writer.close()
