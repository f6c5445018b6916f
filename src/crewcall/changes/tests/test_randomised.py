"""10,000 changes from concurrent writers with random commit delays (and some rollbacks),
read at the same time by resuming readers with small random limits: every reader gets
every committed change exactly once, in (xid, seq) order."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from django.db import connections

from crewcall.changes.cursor import Cursor
from crewcall.changes.selectors import changes_after, current_cursor
from crewcall.changes.tests.conftest import Writer, settle
from crewcall.testing.sql import run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency, pytest.mark.feed]

CHANGES = 10_000
WRITERS = 4
ROWS_PER_WRITER = 8
DEADLINE_S = 180.0  # generous: another pytest worker's transactions can hold the horizon


def write(
    rows: list[tuple[str, int]], quota: int, seed: int, xids: list[int], errors: list[BaseException]
) -> None:
    """Commit exactly `quota` one-row updates, in transactions of 1 to 8, holding some open a
    while after their first write (late commits); one in twenty is rolled back."""
    rng = random.Random(seed)
    writer = Writer()
    try:
        done = 0
        while done < quota:
            size = min(rng.randint(1, 8), quota - done)
            for i in range(size):
                table, pk = rng.choice(rows)
                column = "notes" if table == "people_employee" else "name"
                writer.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [f"w{seed}-{done}-{i}", pk])
                if i == 0 and rng.random() < 0.2:
                    time.sleep(rng.uniform(0, 0.01))  # xid taken, others commit past it
            if rng.random() < 0.3:
                time.sleep(rng.uniform(0, 0.005))
            if rng.random() < 0.05:
                writer.rollback()
            else:
                xids.append(writer.xid())
                writer.commit()
                done += size
    except BaseException as exc:
        errors.append(exc)
    finally:
        writer.close()


def read(
    start: Cursor,
    filters: dict[str, Any],
    seed: int,
    writers_done: threading.Event,
    xids: list[int],
    out: list[tuple[int, int]],
    errors: list[BaseException],
    log: list[tuple[str, str, int, bool]],
) -> None:
    """Poll with small limits, resuming from the cursor's text (as a reconnecting client
    would); stop once the writers are done and the cursor is past all their transactions
    (an empty read alone is not the end: any transaction in the cluster, another test's
    included, can hold the horizon back for a moment)."""
    rng = random.Random(seed)
    cursor_text = start.encode()
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            last_xid = max(xids) if writers_done.is_set() else None
            batch = changes_after(cursor=Cursor.decode(cursor_text), limit=rng.randint(1, 40), **filters)
            assert not batch.reset
            out.extend((c.xid, c.seq) for c in batch.changes)
            # (cursor in, cursor out, changes, cut at the limit): what a repeat is traced by
            log.append((cursor_text, batch.cursor.encode(), len(batch.changes), batch.more))
            cursor_text = batch.cursor.encode()
            if last_xid is not None and batch.cursor.xid > last_xid:
                return
            if not batch.more:
                time.sleep(rng.uniform(0, 0.005))
            if rng.random() < 0.02:
                connections["default"].close()  # a reconnect now and then
        raise AssertionError("reader did not catch up in time")
    except BaseException as exc:
        errors.append(exc)
    finally:
        connections.close_all()


def repeats(got: list[tuple[int, int]], log: list[tuple[str, str, int, bool]]) -> str:
    """The changes delivered more than once, and the reads around each first repeat."""
    seen: set[tuple[int, int]] = set()
    twice = [change for change in got if change in seen or seen.add(change)]  # type: ignore[func-returns-value]
    ends, total = [], 0
    for entry in log:
        total += entry[2]
        ends.append(total)
    at = got.index(twice[0])
    again = next(i for i, end in enumerate(ends) if end > got.index(twice[0], at + 1))
    first = next(i for i, end in enumerate(ends) if end > at)
    return f"{sorted(set(twice))[:10]}; first read {log[first]}, reads before the repeat {log[max(first, again - 3) : again + 1]}"


def test_concurrent_writers_and_resuming_readers_lose_and_repeat_nothing(agency) -> None:
    staff = [agency.employee(name=f"E{i}") for i in range(WRITERS * ROWS_PER_WRITER // 2)]
    skills = [
        run(
            "INSERT INTO people_skill (key, name, is_active) VALUES (%s, %s, true) RETURNING id",
            [f"s{i}", f"S{i}"],
        )[0][0]
        for i in range(WRITERS * ROWS_PER_WRITER // 2)
    ]
    rows = [("people_employee", e.pk) for e in staff] + [("people_skill", s) for s in skills]
    watched = staff[0].pk
    settle()  # the setup's changes are behind the start
    start = current_cursor()

    errors: list[BaseException] = []
    writers_done = threading.Event()
    xids: list[int] = []
    readers_spec = [{}, {}, {"employee_id": watched}]
    received: list[list[tuple[int, int]]] = [[] for _ in readers_spec]
    logs: list[list[tuple[str, str, int, bool]]] = [[] for _ in readers_spec]
    readers = [
        threading.Thread(
            target=read, args=(start, spec, 100 + n, writers_done, xids, received[n], errors, logs[n])
        )
        for n, spec in enumerate(readers_spec)
    ]
    writers = [
        # Each writer owns its rows: no lock waits, only interleaved commits.
        threading.Thread(target=write, args=(rows[w::WRITERS], CHANGES // WRITERS, w, xids, errors))
        for w in range(WRITERS)
    ]
    began = time.monotonic()
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(timeout=DEADLINE_S)
    writers_done.set()
    for t in readers:
        t.join(timeout=DEADLINE_S)
    elapsed = time.monotonic() - began
    assert not any(t.is_alive() for t in readers + writers)
    assert errors == []

    committed = [
        (int(x), seq, emp)
        for x, seq, emp in run(
            "SELECT xid::text AS xid_text, seq, employee_id FROM changes_change WHERE (xid, seq) > (%s::xid8, %s)"
            " ORDER BY xid, seq",
            [str(start.xid), start.seq],
        )
    ]
    assert len(committed) == CHANGES
    everything = [(x, seq) for x, seq, _ in committed]
    for got, log in zip(received[:2], logs[:2], strict=True):
        assert len(got) == len(set(got)), f"a change was delivered twice: {repeats(got, log)}"
        assert sorted(set(everything) - set(got)) == [], "a change was missed"
        assert got == everything  # exactly these, in (xid, seq) order
    assert received[2] == [(x, seq) for x, seq, emp in committed if emp == watched]
    assert received[2], "the filtered reader saw changes"
    print(f"{CHANGES} changes, {WRITERS} writers, {len(readers)} readers: {elapsed:.1f} s")
