"""Every insert, update and delete of every domain table writes exactly one change row,
in the same transaction, with the scope keys of the row and the history context."""

from __future__ import annotations

import importlib
from datetime import date, time
from decimal import Decimal
from typing import Any

import pghistory
import pytest
from django.db import connection, transaction

from crewcall.accounts.models import User
from crewcall.core.context import request_context
from crewcall.events import services as events
from crewcall.people import services as people
from crewcall.staffing import event_lifecycle
from crewcall.staffing import services as staffing
from crewcall.testing.audit import exercise_every_table
from crewcall.testing.sql import run

pytestmark = pytest.mark.django_db

record = importlib.import_module("crewcall.changes.migrations.0002_record_changes")

# Per table: the expected (event_id, employee_id) of a change, as SQL over the table's
# history row `h` (pghistory keeps every version, deleted rows included).
EXPECTED_SCOPE = {
    "accounts_user": ("NULL", "NULL"),
    "events_assignment": ("h.event_id", "h.employee_id"),
    "events_event": ("h.id", "NULL"),
    "events_workarea": ("h.event_id", "NULL"),
    "events_workareaskill": (
        "(SELECT max(a.event_id) FROM events_workareahistory a WHERE a.pgh_obj_id = h.work_area_id)",
        "NULL",
    ),
    "messaging_inboundmessage": (
        "(SELECT max(i.event_id) FROM staffing_invitationhistory i WHERE i.pgh_obj_id = h.invitation_id)",
        "h.employee_id",
    ),
    "messaging_outboundmessage": ("h.event_id", "h.employee_id"),
    "people_absence": ("NULL", "h.employee_id"),
    "people_employee": ("NULL", "h.id"),
    "people_employeeskill": ("NULL", "h.employee_id"),
    "people_employmenttypelimit": ("NULL", "NULL"),
    "people_role": ("NULL", "NULL"),
    "people_skill": ("NULL", "NULL"),
    "staffing_invitation": ("h.event_id", "h.employee_id"),
    "staffing_worklog": ("h.event_id", "h.employee_id"),
}
UNVERSIONED = {"accounts_user", "events_workareaskill", "people_employeeskill"}
OPS = {"insert": "I", "update": "U", "delete": "D"}


def test_the_expected_table_list_is_the_migrations_list() -> None:
    assert set(EXPECTED_SCOPE) == set(record.TABLES)
    attached = {
        r[0] for r in run("SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'changes_record'")
    }
    assert attached == set(record.TABLES)


def exercise_messages(actor: User) -> None:
    """The outbox and inbox, in raw SQL under a history context (the services need a
    provider; the trigger does not care who writes)."""
    with (
        transaction.atomic(),
        pghistory.context(user=actor.pk, source="cli", request_id="capture-test"),
        connection.cursor() as cur,
    ):
        cur.execute("SELECT id, event_id, employee_id FROM staffing_invitation LIMIT 1")
        inv_id, event_id, employee_id = cur.fetchone()
        cur.execute(
            "INSERT INTO messaging_outboundmessage (kind, intent_key, to_number, body, template_key,"
            " template_variables, provider, status, attempts, error_code, error_message, employee_id,"
            " event_id, invitation_id) VALUES ('invitation', 'k1', '+4915100000009', 'Hi', '', '{}',"
            " 'simulator', 'queued', 0, '', '', %s, %s, %s) RETURNING id",
            [employee_id, event_id, inv_id],
        )
        out_id = cur.fetchone()[0]
        cur.execute("UPDATE messaging_outboundmessage SET attempts = 1 WHERE id = %s", [out_id])
        cur.execute(
            "INSERT INTO messaging_inboundmessage (provider_sid, from_number, body, button_payload,"
            " replied_to_sid, raw, outcome, outcome_detail, employee_id, invitation_id)"
            " VALUES ('SM1', '+4915100000009', 'ja', '', '', '{}', 'pending', '', %s, NULL) RETURNING id",
            [employee_id],
        )
        in_id = cur.fetchone()[0]
        # Linking the reply to its invitation brings it into the event's scope.
        cur.execute(
            "UPDATE messaging_inboundmessage SET invitation_id = %s, outcome = 'applied' WHERE id = %s",
            [inv_id, in_id],
        )
        cur.execute("DELETE FROM messaging_outboundmessage WHERE id = %s", [out_id])
        cur.execute("DELETE FROM messaging_inboundmessage WHERE id = %s", [in_id])


def exercise_everything(alice: User) -> None:
    with request_context(source="cli", request_id="capture-test"):
        with pghistory.context(user=alice.pk, source="cli", request_id="capture-test"):
            temp = User.objects.create_user("temp", password="x")
            temp.email = "t@example.org"
            temp.save()
            temp.delete()
        exercise_every_table(alice)
    # exercise_every_table deletes its invitations at the end; make one for the messages.
    role = people.role_create(actor=alice, key="barkeep", name="Barkeep")
    event = events.event_create(
        actor=alice, title="Messages", event_date=date(2030, 6, 1), start_time=time(18),
        hourly_rate=Decimal("15"), employees_needed=1, employees_to_ask=1,
    )  # fmt: skip
    event_lifecycle.event_transition(
        actor=alice, event_id=event.pk, expected_version=1, to_status="recruiting"
    )
    emp = people.employee_create(
        actor=alice, name="Mia", phone_number="+4915199000001", primary_role=role, employment_type="part_time"
    )
    staffing.invitation_create(actor=alice, event_id=event.pk, employee_id=emp.pk)
    exercise_messages(alice)


def history_rows(table: str) -> list[tuple[Any, ...]]:
    event_sql, employee_sql = EXPECTED_SCOPE[table]
    version = "NULL::integer" if table in UNVERSIONED else "h.version"
    return run(
        f"SELECT h.pgh_obj_id, CASE h.pgh_label WHEN 'insert' THEN 'I' WHEN 'update' THEN 'U' ELSE 'D' END,"
        f" {version}, {event_sql}, {employee_sql}, (h.pgh_context->>'user')::bigint,"
        f" h.pgh_context->>'source', h.pgh_context->>'request_id'"
        f" FROM {table}history h"
    )


def change_rows(table: str) -> list[tuple[Any, ...]]:
    return run(
        "SELECT row_id, op, version, event_id, employee_id, actor_id, source, request_id"
        " FROM changes_change WHERE table_name = %s",
        [table],
    )


def test_every_table_records_every_insert_update_and_delete_once_with_scope_and_context(alice) -> None:
    exercise_everything(alice)
    missing = []
    for table in EXPECTED_SCOPE:
        changes = sorted(change_rows(table), key=repr)
        # One change row per history row: same row, operation, version, scope, context.
        assert changes == sorted(history_rows(table), key=repr), table
        for op in OPS.values():
            with_context = [c for c in changes if c[1] == op and c[5] == alice.pk and c[6] == "cli" and c[7]]
            if not with_context:
                missing.append(f"{table}:{op}")
    assert missing == []


def test_a_change_row_is_written_in_the_same_transaction_and_rolls_back_with_it(agency) -> None:
    before = run("SELECT count(*) FROM changes_change")[0][0]
    with pytest.raises(RuntimeError), transaction.atomic():
        agency.employee(name="Ghost")
        assert run("SELECT count(*) FROM changes_change")[0][0] > before
        raise RuntimeError("roll back")
    assert run("SELECT count(*) FROM changes_change")[0][0] == before


def test_all_changes_of_one_transaction_share_its_xid_in_statement_order(agency) -> None:
    employee = agency.employee(name="Ada")
    rows = run(
        "SELECT xid = pg_current_xact_id(), table_name, op FROM changes_change WHERE employee_id = %s"
        " ORDER BY seq",
        [employee.pk],
    )
    assert rows == [(True, "people_employee", "I")]


def forget_history_context() -> None:
    """The test runs in one transaction, where the last service's (transaction-local)
    history context would otherwise still be set; in production each service commits."""
    run("SELECT set_config('pghistory.context_metadata', '', true)")


def test_an_update_that_changes_nothing_is_still_a_change_with_a_new_version(agency) -> None:
    role = agency.bartender
    forget_history_context()
    run("UPDATE people_role SET name = name WHERE id = %s", [role.pk])
    rows = run(
        "SELECT op, version, actor_id, source FROM changes_change WHERE table_name = 'people_role'"
        " AND row_id = %s ORDER BY seq",
        [role.pk],
    )
    assert rows == [("I", 1, agency.actor.pk, "system"), ("U", 2, None, None)]


def test_a_row_leaving_a_scope_tells_the_scope_it_left(agency) -> None:
    employee = agency.employee()
    absence = run(
        "INSERT INTO people_absence (kind, starts_on, ends_on, note, employee_id)"
        " VALUES ('vacation', '2030-01-01', '2030-01-02', '', %s) RETURNING id",
        [employee.pk],
    )[0][0]
    other = agency.employee(name="Other")
    run("UPDATE people_absence SET employee_id = %s WHERE id = %s", [other.pk, absence])
    rows = run(
        "SELECT op, version, employee_id FROM changes_change WHERE table_name = 'people_absence' ORDER BY seq"
    )
    assert rows == [("I", 1, employee.pk), ("U", 2, other.pk), ("U", 2, employee.pk)]


def test_raw_sql_without_a_history_context_records_no_actor(agency) -> None:
    forget_history_context()
    run("UPDATE people_role SET name = 'Barkeeper' WHERE id = %s", [agency.bartender.pk])
    row = run("SELECT actor_id, source, request_id FROM changes_change ORDER BY seq DESC LIMIT 1")
    assert row == [(None, None, None)]


def test_change_rows_cannot_be_altered(agency) -> None:
    from crewcall.testing.sql import refused

    refused("UPDATE changes_change SET op = 'D'")
