"""Helpers for tests that talk to PostgreSQL in raw SQL, bypassing every service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction


def run(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def refused(
    sql: str, params: Sequence[Any] = (), *, rule: str | tuple[str, ...] | None = None
) -> DatabaseError:
    """Assert PostgreSQL refuses the statement (constraints checked at once), naming `rule`
    (or one of several rules, where a row breaks more than one at once)."""
    with pytest.raises(DatabaseError) as info, transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute(sql, params)
    if rule is not None:
        diag = info.value.__cause__.diag  # type: ignore[union-attr]
        rules = (rule,) if isinstance(rule, str) else rule
        assert diag.constraint_name in rules, (diag.constraint_name, diag.message_primary)
    return info.value
