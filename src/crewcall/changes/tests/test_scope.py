"""Scopes on the feed: a row leaving a scope is told to every reader of its old scope,
filtered by event, by employee or by both, and to no reader twice; a work area's skill link
(an inbound message) deleted after its work area (invitation) in one transaction keeps its
event; a cursor a little ahead of this process's hub reads on without a reset."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from django.db import connection, transaction

from crewcall.changes.cursor import Cursor
from crewcall.changes.hub import ChangeHub
from crewcall.changes.selectors import Change, current_cursor
from crewcall.changes.tests.conftest import read_settled, settle
from crewcall.changes.views import follow
from crewcall.testing.sql import run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency, pytest.mark.feed]


def read_all(cursor: Cursor, *, event_id: int | None = None, employee_id: int | None = None) -> list[Change]:
    return read_settled(cursor, event_id=event_id, employee_id=employee_id)[0]


def reply(employee_id: int, invitation_id: int) -> int:
    """An inbound message: its employee is its own, its event its invitation's."""
    return run(
        "INSERT INTO messaging_inboundmessage (provider_sid, from_number, body, button_payload,"
        " replied_to_sid, raw, outcome, outcome_detail, employee_id, invitation_id)"
        " VALUES (gen_random_uuid()::text, '+4915100000009', 'ja', '', '', '{}', 'applied', '', %s, %s)"
        " RETURNING id",
        [employee_id, invitation_id],
    )[0][0]


def told(
    changes: list[Change], row_id: int
) -> list[tuple[str, int, int | None, int | None, tuple[str, ...] | None]]:
    return [
        (c.op, c.version or 0, c.event_id, c.employee_id, c.scope_left) for c in changes if c.row_id == row_id
    ]


@pytest.mark.parametrize("moves", ["employee", "event", "both"])
def test_a_row_leaving_its_scope_is_told_to_every_reader_of_the_old_scope_once(agency, moves) -> None:
    gala, other = agency.event(title="Gala"), agency.event(title="Other")
    emil, olga = agency.employee(name="Emil"), agency.employee(name="Olga")
    invitations = {(e, p): agency.accepted(e, p).pk for e in (gala, other) for p in (emil, olga)}
    message = reply(emil.pk, invitations[gala, emil])
    start = current_cursor()
    new_event = other if moves in ("event", "both") else gala
    new_employee = olga if moves in ("employee", "both") else emil
    run(
        "UPDATE messaging_inboundmessage SET invitation_id = %s, employee_id = %s WHERE id = %s",
        [invitations[new_event, new_employee], new_employee.pk, message],
    )
    new_event, new_employee = new_event.pk, new_employee.pk
    left = tuple(k for k in ("event", "employee") if k == moves or moves == "both")
    moved = ("U", 2, new_event, new_employee, None)
    gone = ("U", 2, gala.pk, emil.pk, left)  # the whole old scope, naming what it left
    assert told(read_all(start), message) == [moved, gone]
    expected = {
        # A reader of the old scope learns the row left it; a reader whose key did not
        # change already has the row's own change, and is not told twice.
        (gala.pk, None): [moved] if moves == "employee" else [gone],
        (None, emil.pk): [moved] if moves == "event" else [gone],
        (gala.pk, emil.pk): [gone],
        (new_event, new_employee): [moved],
    }
    for (event_id, employee_id), wanted in expected.items():
        got = read_all(start, event_id=event_id, employee_id=employee_id)
        assert told(got, message) == wanted, (event_id, employee_id)
        # The hub filters in Python what the database filters in SQL: the same answer.
        everything = read_all(start)
        in_memory = [c for c in everything if c.in_scope(event_id=event_id, employee_id=employee_id)]
        assert in_memory == got
    payloads = [c.payload() for c in read_all(start) if c.row_id == message]
    assert "left" not in payloads[0] and payloads[1]["left"] == list(left)


def test_a_skill_link_deleted_after_its_work_area_keeps_its_event(agency) -> None:
    gala = agency.event()
    area = agency.area(gala)
    skill = run("INSERT INTO people_skill (key, name, is_active) VALUES ('wine', 'Wine', true) RETURNING id")[
        0
    ][0]
    link = run("INSERT INTO events_workareaskill (work_area_id, skill_id) VALUES (%s, %s) RETURNING id",
               [area.pk, skill])[0][0]  # fmt: skip
    start = current_cursor()
    with transaction.atomic(), connection.cursor() as cur:  # foreign keys are checked at commit
        cur.execute("DELETE FROM events_workarea WHERE id = %s", [area.pk])
        cur.execute("DELETE FROM events_workareaskill WHERE id = %s", [link])
    changes = read_all(start, event_id=gala.pk)
    assert [(c.table, c.op, c.row_id) for c in changes] == [
        ("events_workarea", "D", area.pk),
        ("events_workareaskill", "D", link),
    ]


def test_an_inbound_message_deleted_after_its_invitation_keeps_its_event(agency) -> None:
    gala = agency.event()
    emil = agency.employee()
    invitation = agency.accepted(gala, emil)
    reply = run(
        "INSERT INTO messaging_inboundmessage (provider_sid, from_number, body, button_payload,"
        " replied_to_sid, raw, outcome, outcome_detail, employee_id, invitation_id)"
        " VALUES ('SMx', '+4915100000009', 'ja', '', '', '{}', 'applied', '', %s, %s) RETURNING id",
        [emil.pk, invitation.pk],
    )[0][0]
    start = current_cursor()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM staffing_invitation WHERE id = %s", [invitation.pk])
        cur.execute("DELETE FROM messaging_inboundmessage WHERE id = %s", [reply])
    changes = read_all(start, event_id=gala.pk)
    assert [(c.table, c.op, c.row_id) for c in changes] == [
        ("staffing_invitation", "D", invitation.pk),
        ("messaging_inboundmessage", "D", reply),
    ]


async def _frames(stream: AsyncIterator[bytes], count: int, timeout: float) -> list[bytes]:
    frames: list[bytes] = []
    async with asyncio.timeout(timeout):
        while len(frames) < count:
            frame = await anext(stream)
            if not frame.startswith((b"retry:", b": keep-alive")):
                frames.append(frame)
    return frames


def test_a_cursor_a_little_ahead_of_the_hub_reads_on_without_a_reset(agency, settings) -> None:
    """Another web process handed out a cursor past this process's hub: it is not from the
    future (no reset), and what comes after it is delivered, what lies before it is not."""
    settings.CHANGES_HEARTBEAT_S = 1.0
    settle()
    behind = current_cursor()
    hub = ChangeHub(poll_s=0.05)  # not started: its head stays behind, as a slow hub's would
    hub.start = hub.head = behind
    run("UPDATE people_role SET name = 'before' WHERE id = %s", [agency.bartender.pk])
    settle()
    ahead = current_cursor()
    assert ahead.position > behind.position
    assert hub.after(ahead) is None  # not "nothing new": the database decides
    assert hub.after(behind) == ([], behind)

    async def scenario() -> list[bytes]:
        stream = follow(hub, cursor=ahead, event_id=None, employee_id=None)
        try:
            first = asyncio.ensure_future(_frames(stream, 1, timeout=60))
            await asyncio.sleep(0.3)  # the subscriber has read once and waits
            await asyncio.to_thread(
                run, "UPDATE people_role SET name = 'after' WHERE id = %s", [agency.waiter.pk]
            )
            return await first
        finally:
            await stream.aclose()

    (frame,) = asyncio.run(scenario())
    assert b"event: change" in frame and f'"id":{agency.waiter.pk}'.encode() in frame
    assert b'"table":"people_role"' in frame and b"reset" not in frame
