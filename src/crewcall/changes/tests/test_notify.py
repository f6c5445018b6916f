"""The NOTIFY hint: installed disabled (it costs commit throughput, docs/changes.md);
when an installation enables it, every committing writer wakes the listeners once."""

from __future__ import annotations

import psycopg
import pytest

from crewcall.changes.hub import NOTIFY_CHANNEL, _listen_params
from crewcall.testing.owner import as_owner
from crewcall.testing.sql import run

pytestmark = pytest.mark.django_db(transaction=True)


def notifications_after(write: str) -> list[str]:
    with psycopg.connect(**_listen_params(), autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        run(write)
        return [n.channel for n in listener.notifies(timeout=1.0)]


def test_the_hint_is_off_as_installed_and_one_per_transaction_when_on(db) -> None:
    assert run("SELECT tgenabled FROM pg_trigger WHERE tgname = 'changes_notify'") == [("D",)]
    assert (
        notifications_after("INSERT INTO people_skill (key, name, is_active) VALUES ('a', 'A', true)") == []
    )
    as_owner("ALTER TABLE changes_change ENABLE TRIGGER changes_notify")
    try:
        # Two rows in one transaction: one notification (PostgreSQL folds them).
        got = notifications_after(
            "INSERT INTO people_skill (key, name, is_active) VALUES ('b', 'B', true), ('c', 'C', true)"
        )
    finally:
        as_owner("ALTER TABLE changes_change DISABLE TRIGGER changes_notify")
    assert got == [NOTIFY_CHANNEL]
