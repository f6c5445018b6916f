"""`crewcall integrity`: a clean agency passes; corruption injected by raw SQL (triggers
bypassed where they would refuse it) is found and named; --repair fixes the fixable ones
through services with source "repair", and the next run is clean; the rest is left."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from crewcall.events import services as events
from crewcall.ops.integrity.registry import all_checks
from crewcall.ops.integrity.runner import integrity_run
from crewcall.ops.models import IntegrityRun
from crewcall.ops.selectors import integrity_last_run
from crewcall.ops.tests.integrity_helpers import (
    World,
    assert_clean,
    found,
    last_history_source,
    left,
    triggers_off,
)
from crewcall.people import services as people
from crewcall.staffing import placement
from crewcall.staffing.services import invitation_create
from crewcall.testing.owner import as_owner
from crewcall.testing.sql import run

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[4] / "docs" / "integrity.md"


@pytest.fixture
def world(agency: Any) -> World:
    # procrastinate's tables are not flushed between tests: jobs an earlier transactional
    # test left behind would be findings here (the delete is undone with the test).
    run("DELETE FROM procrastinate_events; DELETE FROM procrastinate_jobs")
    # Nor is the feed's state row: an earlier test's retention run leaves its watermark, and
    # once the feed has been pruned the change checks rightly stop asking every row for a
    # change (retention may have taken it).
    as_owner("UPDATE changes_feed SET pruned_xid = NULL, pruned_seq = NULL")
    return World(agency)


# --- the whole command ------------------------------------------------------------------


def test_a_clean_agency_passes_every_check_and_exits_0(world: World) -> None:
    out = StringIO()
    call_command("integrity", stdout=out)  # returns: exit status 0
    assert "clean" in out.getvalue()
    run_row = integrity_last_run()
    assert run_row is not None and run_row.checks_failed == 0 and run_row.score == 1.0
    assert run_row.checks_run == len(all_checks()) >= 20


def test_json_output_parses_and_exit_1_with_findings(world: World) -> None:
    run("UPDATE events_event SET status = 'staffed' WHERE id = %s", [world.event.pk])
    out = StringIO()
    with pytest.raises(CommandError) as exit_info:
        call_command("integrity", "--json", stdout=out)
    assert exit_info.value.returncode == 1
    doc = json.loads(out.getvalue())
    assert set(doc) >= {"checks_run", "findings", "repaired", "left", "totals", "score", "clean"}
    assert doc["clean"] is False
    (finding,) = [f for f in doc["findings"] if f["id"] == "event.status_matches_acceptances"]
    assert finding["severity"] == "error" and finding["sample_ids"] == [world.event.pk]
    assert IntegrityRun.objects.count() == 1
    assert 0 < IntegrityRun.objects.get().score < 1


@pytest.mark.django_db(transaction=True)
def test_human_table_groups_by_severity_and_repair_lists_what_it_did_and_left(world: World) -> None:
    run("UPDATE events_event SET status = 'staffed' WHERE id = %s", [world.event.pk])
    invitation_create(actor=world.agency.actor, event_id=world.event.pk, employee_id=world.ben.pk)
    with triggers_off() as raw:
        raw("UPDATE events_workarea SET role_requirements = '{\"ghost\": 1}' WHERE id = %s", [world.area.pk])
    out = StringIO()
    with pytest.raises(CommandError) as exit_info:
        call_command("integrity", "--repair", stdout=out)
    text = out.getvalue()
    assert exit_info.value.returncode == 1  # the ghost role is left for a human
    assert text.index("ERRORS") < text.index("REPAIRED") < text.index("LEFT FOR A HUMAN")
    assert "work_area.role_requirements_shape" in text.split("REPAIRED")[0]
    assert f"event {world.event.pk}: status" in text
    assert f"work_area {world.area.pk}: unknown role ghost" in text


# --- one test per check kind --------------------------------------------------------------


def test_event_status_out_of_step_is_repaired_with_source_repair(world: World) -> None:
    run("UPDATE events_event SET status = 'staffed' WHERE id = %s", [world.event.pk])
    assert found(integrity_run(), "event.status_matches_acceptances") == [("event", world.event.pk)]
    outcome = integrity_run(repair=True)
    assert outcome.exit_code == 0, outcome.left
    assert run("SELECT status FROM events_event WHERE id = %s", [world.event.pk]) == [("recruiting",)]
    assert last_history_source("events_event", world.event.pk) == ("update", "repair")
    assert_clean(integrity_run())


@pytest.mark.django_db(transaction=True)
def test_too_many_acceptances_are_left_for_a_human(world: World) -> None:
    world.accept_and_place(world.ben)
    with triggers_off() as raw:
        raw(
            "UPDATE events_event SET employees_needed = 1, employees_to_ask = 1 WHERE id = %s",
            [world.event.pk],
        )
    outcome = integrity_run(repair=True)
    assert left(outcome, "event.accepted_within_needed") == [("event", world.event.pk)]
    assert outcome.exit_code == 1


@pytest.mark.django_db(transaction=True)
def test_cancelled_event_with_open_invitations_is_found(world: World) -> None:
    with triggers_off() as raw:
        raw("UPDATE events_event SET status = 'cancelled' WHERE id = %s", [world.event.pk])
    outcome = integrity_run(repair=True)
    assert left(outcome, "event.cancelled_with_open_invitations") == [("invitation", world.ada_inv.pk)]


@pytest.mark.parametrize(
    ("requirements", "problem"),
    [
        ("[1]", "role_requirements is not an object"),
        ('{"bartender": 0}', "count for role bartender is not a positive whole number"),
        ('{"bartender": "2"}', "count for role bartender is not a positive whole number"),
        ('{"ghost": 1}', "unknown role ghost"),
        ('{"bartender": 2, "cook": 5}', "role requirements exceed the capacity"),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_role_requirements_of_the_wrong_shape_are_found(
    world: World, requirements: str, problem: str
) -> None:
    with triggers_off() as raw:
        raw(
            "UPDATE events_workarea SET role_requirements = %s::jsonb WHERE id = %s",
            [requirements, world.area.pk],
        )
    outcome = integrity_run(repair=True)
    findings = next(r for r in outcome.results if r.check.id == "work_area.role_requirements_shape").findings
    assert [(f.object_id, f.problem) for f in findings] == [(world.area.pk, problem)]
    assert ("work_area", world.area.pk) in left(outcome, "work_area.role_requirements_shape")


@pytest.mark.django_db(transaction=True)
def test_overfull_work_area_is_found(world: World) -> None:
    world.accept_and_place(world.ben)
    with triggers_off() as raw:
        raw(
            "UPDATE events_workarea SET max_capacity = 1, role_requirements = '{}' WHERE id = %s",
            [world.area.pk],
        )
    outcome = integrity_run(repair=True)
    assert left(outcome, "work_area.assigned_within_capacity") == [("work_area", world.area.pk)]


@pytest.mark.django_db(transaction=True)
def test_role_placed_beyond_its_requirement_is_found(world: World) -> None:
    world.accept_and_place(world.ben)
    with triggers_off() as raw:
        raw(
            "UPDATE events_workarea SET role_requirements = '{\"bartender\": 1}' WHERE id = %s",
            [world.area.pk],
        )
    outcome = integrity_run()
    assert found(outcome, "work_area.assigned_within_role_requirements") == [("work_area", world.area.pk)]


@pytest.mark.django_db(transaction=True)
def test_unlisted_roles_beyond_the_places_left_are_found(world: World) -> None:
    inv = world.agency.accepted(world.event, world.ben)
    placement.assignment_create(
        actor=world.agency.actor,
        work_area_id=world.area.pk,
        role_id=world.agency.waiter.pk,
        invitation_id=inv.pk,
    )
    with triggers_off() as raw:
        raw(
            "UPDATE events_workarea SET role_requirements = '{\"bartender\": 3}' WHERE id = %s",
            [world.area.pk],
        )
    outcome = integrity_run()
    assert found(outcome, "work_area.assigned_within_role_requirements") == [("work_area", world.area.pk)]


@pytest.mark.django_db(transaction=True)
def test_placement_without_acceptance_is_removed_by_repair(world: World) -> None:
    with triggers_off() as raw:
        raw("UPDATE staffing_invitation SET status = 'declined' WHERE id = %s", [world.ada_inv.pk])
    assert found(integrity_run(), "assignment.invitation_accepted") == [("assignment", world.ada_placed.pk)]
    outcome = integrity_run(repair=True)
    assert outcome.exit_code == 0, outcome.left
    assert run("SELECT count(*) FROM events_assignment") == [(0,)]
    assert last_history_source("events_assignment", world.ada_placed.pk) == ("delete", "repair")
    assert (
        run("SELECT count(*) FROM events_assignmenthistory WHERE pgh_obj_id = %s", [world.ada_placed.pk])[0][
            0
        ]
        == 2
    )
    assert_clean(integrity_run())


@pytest.mark.django_db(transaction=True)
def test_hours_without_acceptance_are_left(world: World) -> None:
    with triggers_off() as raw:
        raw(
            "INSERT INTO staffing_worklog (event_id, employee_id, started_at, ended_at, break_minutes, note)"
            " VALUES (%s, %s, now() - interval '5 hours', now() - interval '1 hour', 0, '')",
            [world.event.pk, world.cem.pk],
        )
    log_id = run("SELECT id FROM staffing_worklog")[0][0]
    outcome = integrity_run(repair=True)
    assert left(outcome, "worklog.employee_accepted") == [("worklog", log_id)]


def test_asked_but_never_messaged_gets_its_message_on_repair(world: World) -> None:
    inv = invitation_create(actor=world.agency.actor, event_id=world.event.pk, employee_id=world.ben.pk)
    assert found(integrity_run(), "invitation.asked_without_message") == [("invitation", inv.pk)]
    outcome = integrity_run(repair=True)
    assert outcome.exit_code == 0, outcome.left
    (message_id,) = run("SELECT id FROM messaging_outboundmessage WHERE invitation_id = %s", [inv.pk])[0]
    assert last_history_source("messaging_outboundmessage", message_id) == ("insert", "repair")
    assert run(
        "SELECT count(*) FROM procrastinate_jobs WHERE args ->> 'message_id' = %s", [str(message_id)]
    ) == [(1,)]
    assert_clean(integrity_run())


@pytest.mark.django_db(transaction=True)
def test_asked_for_a_past_event_is_left(world: World) -> None:
    inv = invitation_create(actor=world.agency.actor, event_id=world.event.pk, employee_id=world.ben.pk)
    with triggers_off() as raw:
        raw("UPDATE events_event SET event_date = %s WHERE id = %s", [date(2020, 1, 1), world.event.pk])
    outcome = integrity_run(repair=True)
    (item,) = [f for f in outcome.left if f["check"] == "invitation.asked_without_message"]
    assert item["id"] == inv.pk and "event is over" in item["reason"]


def _queued_message(world: World) -> int:
    inv = invitation_create(actor=world.agency.actor, event_id=world.event.pk, employee_id=world.ben.pk)
    from crewcall.staffing.asking import queue_invitation_message

    with transaction.atomic():
        queue_invitation_message(inv, world.event)
    return int(run("SELECT id FROM messaging_outboundmessage WHERE invitation_id = %s", [inv.pk])[0][0])


def test_queued_message_without_job_is_requeued(world: World) -> None:
    message_id = _queued_message(world)
    assert_clean(integrity_run())  # its job is waiting
    run("DELETE FROM procrastinate_jobs")
    run("UPDATE messaging_outboundmessage SET next_attempt_at = now() - interval '1 hour'")
    assert found(integrity_run(), "message.queued_without_job") == [("outbound_message", message_id)]
    outcome = integrity_run(repair=True)
    assert outcome.exit_code == 0, outcome.left
    assert_clean(integrity_run())


def test_message_stuck_in_sending_gets_a_reconciling_job(world: World) -> None:
    message_id = _queued_message(world)
    run("DELETE FROM procrastinate_jobs")
    run(  # a claim counts an attempt (a CHECK holds it)
        "UPDATE messaging_outboundmessage SET status = 'sending', attempts = 1,"
        " claimed_at = now() - interval '2 hours'"
    )
    assert found(integrity_run(), "message.stuck_sending") == [("outbound_message", message_id)]
    assert found(integrity_run(params={"stuck_minutes": 180}), "message.stuck_sending") == []
    outcome = integrity_run(repair=True)
    assert outcome.exit_code == 0, outcome.left
    assert_clean(integrity_run())


def test_inbound_reply_never_applied_gets_an_apply_job(world: World) -> None:
    run(
        "INSERT INTO messaging_inboundmessage (provider_sid, from_number, body, button_payload, replied_to_sid,"
        " received_at, raw, outcome, outcome_detail)"
        " VALUES ('SMX1', '+4915100000001', 'yes', '', '', now() - interval '1 hour', '{}', 'pending', '')"
    )
    (inbound_id,) = run("SELECT id FROM messaging_inboundmessage")[0]
    assert found(integrity_run(), "inbound.never_applied") == [("inbound_message", inbound_id)]
    outcome = integrity_run(repair=True)
    assert outcome.exit_code == 0, outcome.left
    assert run("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'messaging.apply_inbound'") == [
        (1,)
    ]


def test_message_linked_to_someone_elses_invitation_is_left(world: World) -> None:
    message_id = _queued_message(world)
    run("UPDATE messaging_outboundmessage SET invitation_id = %s", [world.ada_inv.pk])
    outcome = integrity_run(repair=True)
    assert left(outcome, "message.links_match") == [("outbound_message", message_id)]


def test_message_variables_of_the_wrong_shape_are_found(world: World) -> None:
    message_id = _queued_message(world)
    run("UPDATE messaging_outboundmessage SET template_variables = '{\"name\": 5}'")
    run(
        "INSERT INTO messaging_inboundmessage (provider_sid, from_number, body, button_payload, replied_to_sid,"
        " raw, outcome, outcome_detail) VALUES ('SMX2', '+4915100000001', 'yes', '', '', '\"x\"', 'applied', '')"
    )
    (inbound_id,) = run("SELECT id FROM messaging_inboundmessage")[0]
    outcome = integrity_run(repair=True)
    assert sorted(left(outcome, "message.json_shapes")) == [
        ("inbound_message", inbound_id),
        ("outbound_message", message_id),
    ]


def test_job_for_a_missing_message_is_cancelled(world: World) -> None:
    from crewcall.messaging.outbox import defer_send

    with transaction.atomic():
        defer_send(987654321)
    (job_id,) = run("SELECT id FROM procrastinate_jobs")[0]
    assert found(integrity_run(), "jobs.point_at_nothing") == [("job", job_id)]
    outcome = integrity_run(repair=True)
    assert outcome.exit_code == 0, outcome.left
    assert run("SELECT status::text FROM procrastinate_jobs WHERE id = %s", [job_id]) == [("cancelled",)]


def test_idempotency_key_of_a_missing_user_is_forgotten(world: World) -> None:
    run(
        "INSERT INTO core_idempotencykey (scope, key, claim, fingerprint, method, path, state, headers)"
        " VALUES ('user:987654321', 'k', 'c', 'f', 'POST', '/x', 'done', '{}')"
    )
    (key_id,) = run("SELECT id FROM core_idempotencykey")[0]
    assert found(integrity_run(), "idempotency.keys_point_at_nothing") == [("idempotency_key", key_id)]
    assert integrity_run(repair=True).exit_code == 0
    assert run("SELECT count(*) FROM core_idempotencykey") == [(0,)]


@pytest.mark.django_db(transaction=True)
def test_row_without_history_or_change_is_resnapshotted_with_source_repair(world: World) -> None:
    with triggers_off() as raw:
        raw("INSERT INTO people_role (key, name, is_active) VALUES ('ghost', 'Ghost', true)")
        raw(
            "UPDATE people_employee SET version = version + 1, notes = 'typed in psql' WHERE id = %s",
            [world.ben.pk],
        )
    (role_id,) = run("SELECT id FROM people_role WHERE key = 'ghost'")[0]
    outcome = integrity_run()
    assert found(outcome, "history.latest_matches_row") == [
        ("people_employee", world.ben.pk),
        ("people_role", role_id),
    ]
    assert found(outcome, "changes.latest_matches_row") == [
        ("people_employee", world.ben.pk),
        ("people_role", role_id),
    ]
    repaired = integrity_run(repair=True)
    assert repaired.exit_code == 0, repaired.left
    assert last_history_source("people_role", role_id) == ("update", "repair")
    assert last_history_source("people_employee", world.ben.pk) == ("update", "repair")
    assert run(
        "SELECT source FROM changes_change WHERE table_name = 'people_role' AND row_id = %s", [role_id]
    ) == [("repair",)]
    assert_clean(integrity_run())


@pytest.mark.django_db(transaction=True)
def test_link_row_without_history_is_left(world: World) -> None:
    skill = people.skill_create(actor=world.agency.actor, key="cocktails", name="Cocktails")
    with triggers_off() as raw:
        raw(
            "INSERT INTO people_employeeskill (employee_id, skill_id) VALUES (%s, %s)",
            [world.ben.pk, skill.pk],
        )
    (link_id,) = run("SELECT id FROM people_employeeskill")[0]
    outcome = integrity_run(repair=True)
    assert ("people_employeeskill", link_id) in left(outcome, "history.latest_matches_row")


@pytest.mark.django_db(transaction=True)
def test_row_deleted_behind_the_triggers_leaves_orphan_history_and_changes(world: World) -> None:
    absence = people.absence_create(
        actor=world.agency.actor, employee_id=world.cem.pk, kind="vacation",
        starts_on=date(2031, 1, 1), ends_on=date(2031, 1, 2),
    )  # fmt: skip
    with triggers_off() as raw:
        raw("DELETE FROM people_absence WHERE id = %s", [absence.pk])
    outcome = integrity_run(repair=True)
    assert left(outcome, "history.points_at_something") == [("people_absence", absence.pk)]
    assert left(outcome, "changes.points_at_something") == [("people_absence", absence.pk)]
    assert run("SELECT count(*) FROM people_absencehistory WHERE pgh_obj_id = %s", [absence.pk]) == [(1,)]


@pytest.mark.django_db(transaction=True)
def test_missing_feed_state_is_recreated(world: World) -> None:
    as_owner("DELETE FROM changes_feed")
    assert found(integrity_run(), "changes.feed_state") == [("changes_feed", 0)]
    assert integrity_run(repair=True).exit_code == 0
    assert run("SELECT count(*) FROM changes_feed") == [(1,)]


@pytest.mark.django_db(transaction=True)
def test_change_log_gaps_are_healed_by_recording_the_rows_state(world: World) -> None:
    event = events.event_update(
        actor=world.agency.actor, event_id=world.event.pk, expected_version=world.event.version,
        changes={"title": "Gala II"},
    )  # fmt: skip
    assert event.version >= 3
    as_owner(
        "DELETE FROM changes_change WHERE table_name = 'events_event' AND row_id = %s AND version = 2",
        [world.event.pk],
    )
    as_owner(
        "DELETE FROM changes_change WHERE table_name = 'staffing_invitation' AND row_id = %s AND version = 1",
        [world.ada_inv.pk],
    )
    findings = next(r for r in integrity_run().results if r.check.id == "changes.version_gaps").findings
    assert [(f.kind, f.object_id, f.problem) for f in findings] == [
        ("events_event", world.event.pk, "change log skips versions"),
        ("staffing_invitation", world.ada_inv.pk, "change log starts after version 1"),
    ]
    outcome = integrity_run(repair=True)
    assert outcome.exit_code == 0, outcome.left
    assert run(
        "SELECT source FROM changes_change WHERE table_name = 'events_event' AND row_id = %s"
        " ORDER BY version DESC LIMIT 1",
        [world.event.pk],
    ) == [("repair",)]
    assert_clean(integrity_run())


@pytest.mark.django_db(transaction=True)
def test_changes_below_the_watermark_or_from_the_future_are_found(world: World) -> None:
    (seq, xid) = run("SELECT seq, xid::text FROM changes_change ORDER BY xid, seq LIMIT 1")[0]
    as_owner("UPDATE changes_feed SET pruned_xid = %s::xid8, pruned_seq = %s", [xid, seq])
    run(
        "INSERT INTO changes_change (xid, table_name, op, row_id) VALUES"
        " ((pg_snapshot_xmax(pg_current_snapshot())::text::bigint + 1000)::text::xid8, 'events_event', 'U', %s)",
        [world.event.pk],
    )
    (future,) = run("SELECT max(seq) FROM changes_change")[0]
    outcome = integrity_run(repair=True)
    assert sorted(left(outcome, "changes.readable_order")) == [
        ("changes_change", seq),
        ("changes_change", future),
    ]


# --- the registry and its documentation ---------------------------------------------------


def test_every_check_is_documented_and_has_a_repair_or_a_reason() -> None:
    text = DOCS.read_text()
    for check in all_checks():
        assert f"`{check.id}`" in text, check.id
        assert check.repair is not None or check.left_because, check.id
        assert check.severity in ("error", "warning")


@pytest.mark.django_db(transaction=True)
def test_checks_read_one_repeatable_read_read_only_snapshot() -> None:
    from django.db import DatabaseError

    from crewcall.core.integrity import Check
    from crewcall.ops.integrity.registry import run_checks

    probe = Check(
        id="probe.snapshot",
        severity="warning",
        description="reports the transaction it runs in",
        sql="SELECT 'probe', 1, current_setting('transaction_isolation'),"
        " current_setting('transaction_read_only'), NULL",
        left_because="a probe",
    )
    (result,) = run_checks([probe])
    assert (result.findings[0].problem, result.findings[0].expected) == ("repeatable read", "on")
    writer = Check(
        id="probe.write",
        severity="warning",
        description="tries to write",
        sql="SELECT 'x', 1, nextval('core_idempotencykey_id_seq')::text, NULL, NULL",
        left_because="a probe",
    )
    with pytest.raises(DatabaseError, match="read-only transaction"):  # writes are refused
        run_checks([writer])
