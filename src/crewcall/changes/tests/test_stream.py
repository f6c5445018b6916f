"""The change stream over HTTP, against real `crewcall web` processes: live delivery,
resuming after a disconnect and after a restart, reset, two processes, filters, access."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from crewcall.changes.cursor import Cursor
from crewcall.changes.selectors import current_cursor
from crewcall.changes.services import changes_prune
from crewcall.changes.tests.conftest import settle
from crewcall.events.services import event_update
from crewcall.testing.owner import as_owner
from crewcall.testing.sql import run
from crewcall.testing.sse import Event, SSEClient, web_processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency, pytest.mark.feed]

PATH = "/api/v1/changes"
RENAME_ROLE = "UPDATE people_role SET name = %s WHERE id = %s"


@pytest.fixture
def cookie(client, alice) -> str:
    client.force_login(alice)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def touch_employees(count: int) -> None:
    """`count` changes in one statement (each employee row updated once)."""
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE people_employee SET notes = notes || '.' WHERE id IN"
            " (SELECT id FROM people_employee ORDER BY id LIMIT %s)",
            [count],
        )


def test_a_change_arrives_live_and_only_for_signed_in_users(tmp_path, agency, cookie) -> None:
    event = agency.event()
    with web_processes(tmp_path) as (web,):
        anonymous = SSEClient(web.port, PATH)
        assert anonymous.status == 401
        anonymous.close()
        bad = SSEClient(web.port, PATH + "?since=not-a-cursor", cookie=cookie)
        assert bad.status == 400 and b'"field": "since"' in bad.response.read()
        bad.close()

        stream = SSEClient(web.port, PATH, cookie=cookie)
        assert stream.status == 200
        assert stream.response.getheader("Content-Type", "").startswith("text/event-stream")
        assert stream.response.getheader("X-Accel-Buffering") == "no"
        time.sleep(0.5)  # the stream has its "now"
        event_update(
            actor=agency.actor, event_id=event.pk, expected_version=event.version, changes={"title": "Gala 2"}
        )
        got = stream.next_event()
        stream.close()
    assert got.event == "change"
    assert got.data["table"] == "events_event" and got.data["op"] == "U" and got.data["id"] == event.pk
    assert got.data["event"] == event.pk and got.data["source"] == "system"
    assert Cursor.decode(str(got.id))  # latency is measured by bench/changes_stream.py, not here


def test_scripts_follow_with_an_api_token_and_outsiders_are_refused(tmp_path, agency, bob, oscar) -> None:
    from crewcall.testing.api import token_for

    event = agency.event()
    with web_processes(tmp_path) as (web,):
        for refused, status in ((token_for(oscar), 403), ("cc_unknown", 401)):
            client = SSEClient(web.port, PATH, token=refused)
            assert client.status == status
            client.close()
        stream = SSEClient(web.port, PATH, token=token_for(bob))
        assert stream.status == 200
        time.sleep(0.5)  # the stream has its "now"
        event_update(
            actor=agency.actor, event_id=event.pk, expected_version=event.version, changes={"title": "Gala 3"}
        )
        got = stream.next_event()
        stream.close()
    assert (got.data["table"], got.data["op"], got.data["id"]) == ("events_event", "U", event.pk)


def test_a_subscriber_gets_every_change_it_missed_once_in_order_also_after_a_restart(
    tmp_path, agency, cookie
) -> None:
    start = current_cursor()
    for n in range(1000):
        agency.employee(name=f"E{n:04}")  # each also writes rows of other tables
    with web_processes(tmp_path) as (web,):
        stream = SSEClient(web.port, PATH + f"?since={start}", cookie=cookie)
        first = read_until(stream, "people_employee", "I", 1000)
        stream.close()
        resume_at = first[-1].id
        assert resume_at is not None

        touch_employees(1000)  # while nobody listens

        stream = SSEClient(web.port, PATH, cookie=cookie, last_event_id=resume_at)
        missed = read_until(stream, "people_employee", "U", 1000)
        stream.close()
        web.stop()
        touch_employees(1000)  # while the server is down
        web.start()
        stream = SSEClient(web.port, PATH, cookie=cookie, last_event_id=str(missed[-1].id))
        after_restart = read_until(stream, "people_employee", "U", 1000)
        stream.close()
    everything = first + missed + after_restart
    positions = [Cursor.decode(str(e.id)).position for e in everything]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)  # in order, once
    for batch in (missed, after_restart):
        updates = [e for e in batch if (e.data["table"], e.data["op"]) == ("people_employee", "U")]
        assert len({e.data["id"] for e in updates}) == 1000  # every employee's update, once


def read_until(stream: SSEClient, table: str, op: str, count: int) -> list[Event]:
    """Events until `count` of them are `op` on `table` (others may come in between)."""
    events: list[Event] = []
    seen = 0
    while seen < count:
        event = stream.next_event()
        events.append(event)
        seen += (event.data.get("table"), event.data.get("op")) == (table, op)
    return events


def test_two_web_processes_both_deliver_a_change_made_anywhere(tmp_path, agency, cookie) -> None:
    event = agency.event()
    with web_processes(tmp_path, count=2) as (one, two):
        streams = [SSEClient(web.port, PATH + f"?event={event.pk}", cookie=cookie) for web in (one, two)]
        time.sleep(0.5)
        event_update(
            actor=agency.actor, event_id=event.pk, expected_version=event.version, changes={"title": "Both"}
        )
        got = [stream.next_event() for stream in streams]
        for stream in streams:
            stream.close()
    assert [(e.data["table"], e.data["id"]) for e in got] == [("events_event", event.pk)] * 2
    assert got[0].id == got[1].id  # one feed, one cursor, whichever process serves it


def test_streams_hold_no_database_connection(tmp_path, agency, cookie) -> None:
    """More subscribers than the pool has connections: each stream gives its session
    lookup's connection back, and reads through the process's one feed reader."""
    event = agency.event()
    with web_processes(tmp_path, CREWCALL_DB_POOL_SIZE="3") as (web,):
        streams = [SSEClient(web.port, PATH + f"?event={event.pk}", cookie=cookie) for _ in range(8)]
        assert [s.status for s in streams] == [200] * 8
        time.sleep(0.5)
        event_update(
            actor=agency.actor, event_id=event.pk, expected_version=event.version, changes={"title": "All"}
        )
        got = [s.next_event() for s in streams]
        for stream in streams:
            stream.close()
    assert {(e.data["table"], e.data["id"]) for e in got} == {("events_event", event.pk)}


def test_a_filtered_stream_sees_only_its_event(tmp_path, agency, cookie) -> None:
    mine, other = agency.event(title="Mine"), agency.event(title="Other")
    start = current_cursor()
    event_update(
        actor=agency.actor, event_id=other.pk, expected_version=other.version, changes={"title": "Other 2"}
    )
    event_update(
        actor=agency.actor, event_id=mine.pk, expected_version=mine.version, changes={"title": "Mine 2"}
    )
    with web_processes(tmp_path) as (web,):
        stream = SSEClient(web.port, PATH + f"?event={mine.pk}&since={start}", cookie=cookie)
        got = stream.next_event()
        stream.close()
        bad = SSEClient(web.port, PATH + "?event=x", cookie=cookie)
        assert bad.status == 400 and b'"field": "event"' in bad.response.read()
        bad.close()
    assert (got.data["table"], got.data["id"], got.data["event"]) == ("events_event", mine.pk, mine.pk)


def test_a_cursor_older_than_retention_or_of_another_feed_gets_reset(tmp_path, cookie) -> None:
    start = current_cursor()
    run("INSERT INTO changes_change (table_name, op, row_id) VALUES ('people_role', 'U', 1)")
    settle()
    try:
        # Retention as if this were a week later: everything so far goes, the change after
        # `start` included, so `start` now points into pruned history.
        assert changes_prune(older_than=timezone.now() + timedelta(seconds=1)) >= 1
        foreign = Cursor(epoch="someotherfeed", xid=start.xid, seq=0)
        with web_processes(tmp_path) as (web,):
            for since in (start, foreign):
                stream = SSEClient(web.port, PATH + f"?since={since}", cookie=cookie)
                got = stream.next_event()
                stream.close()
                assert got.event == "reset"
                assert Cursor.decode(str(got.data["cursor"])).epoch == start.epoch
                assert got.id == got.data["cursor"]
    finally:
        as_owner("UPDATE changes_feed SET pruned_xid = NULL, pruned_seq = NULL")  # the flush keeps it


def test_a_cursor_from_the_future_gets_reset_while_the_hub_serves_the_stream(
    tmp_path, agency, cookie
) -> None:
    """With the process's hub running (another stream started it), a cursor beyond any
    transaction id handed out is not "nothing new yet": it gets `reset`, and every change
    committed afterwards arrives (without the reset they would all lie below the cursor)."""
    with web_processes(tmp_path) as (web,):
        live = SSEClient(web.port, PATH, cookie=cookie, timeout=30)
        time.sleep(0.5)  # the hub runs and has a head
        run(RENAME_ROLE, ["warm", agency.cook.pk])
        assert live.next_event().data["id"] == agency.cook.pk
        now = current_cursor()
        future = Cursor(epoch=now.epoch, xid=now.xid + 1_000_000, seq=0)
        stream = SSEClient(web.port, PATH + f"?since={future}", cookie=cookie, timeout=30)
        reset = stream.next_event()
        assert reset.event == "reset"
        assert Cursor.decode(str(reset.data["cursor"])).xid < future.xid
        for n in range(3):
            run(RENAME_ROLE, [f"after {n}", agency.waiter.pk])
        got = [stream.next_event() for _ in range(3)]
        stream.close()
        live.close()
    assert [(e.event, e.data["id"], e.data["version"]) for e in got] == [
        ("change", agency.waiter.pk, 2),
        ("change", agency.waiter.pk, 3),
        ("change", agency.waiter.pk, 4),
    ]
