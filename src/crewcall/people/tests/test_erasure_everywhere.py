"""GDPR erasure reaches every copy (issue 14, item 3): after a realistic life (created
through the API with an Idempotency-Key, invited through the outbox and the simulator,
answering by webhook with text, an absence with a note, a linked account with a session,
a forged webhook from their number), anonymising leaves their name, number (with and
without +), message text, username and email in no text, varchar, json, jsonb or bytea
column of any table in schema public. The search runs as the owner, so it sees every
table whatever the runtime role's grants."""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from typing import Any

import psycopg
import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection
from django.urls import reverse

from crewcall.accounts.models import User
from crewcall.core.audit_chain import ERASABLE
from crewcall.core.models import PrivilegedCall
from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.messaging.tasks import deliver
from crewcall.people import services as people
from crewcall.people.models import Employee
from crewcall.staffing.asking import event_ask
from crewcall.staffing.tasks import apply_inbound
from crewcall.testing.owner import as_owner
from crewcall.testing.webhooks import inbound_params, signed_headers

pytestmark = pytest.mark.django_db

INBOUND = "/webhooks/twilio/whatsapp"
SEARCHED_TYPES = ("text", "character varying", "character", "json", "jsonb", "bytea", "ARRAY")

COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type
FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.data_type = ANY(%s)
ORDER BY 1, 2
"""


def search(needles: list[str]) -> tuple[dict[str, list[str]], int, int]:
    """{needle: ["table.column", ...]} over every searched column, plus how many columns
    and tables were searched."""
    columns = as_owner(COLUMNS, [list(SEARCHED_TYPES)])
    hits: dict[str, list[str]] = {n: [] for n in needles}
    for table, column, data_type in columns:
        # Identifiers come from the catalogue; the needles are parameters.
        if data_type == "bytea":
            probe = f"position(convert_to(%s, 'UTF8') IN \"{column}\") > 0"
        else:
            probe = f'position(%s IN "{column}"::text) > 0'
        for needle in needles:
            found = as_owner(f'SELECT EXISTS (SELECT 1 FROM "{table}" WHERE {probe})', [needle])
            if found[0][0]:
                hits[needle].append(f"{table}.{column}")
    return hits, len(columns), len({t for t, _c, _d in columns})


def live_a_life(agency: Any, client: Any, api_as: Any, live_server: Any, settings: Any, who: dict[str, str]):
    settings.PUBLIC_URL = live_server.url
    settings.MESSAGING_PROVIDER = "simulator"
    # Created through the API with an Idempotency-Key: the stored answer holds name and number.
    created = api_as(agency.actor).post(
        "employees",
        {"name": who["name"], "phone_number": who["phone"], "primary_role": "bartender",
         "employment_type": "part_time", "notes": f"met at {who['text']}"},
        **{"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    employee = Employee.objects.get(phone_number=who["phone"])
    account = User.objects.create_user(
        who["username"], email=who["email"], password="x", role="employee",
        first_name=who["name"].split()[0], last_name=who["name"].split()[1],
    )  # fmt: skip
    employee = people.employee_update(
        actor=agency.actor,
        employee_id=employee.pk,
        expected_version=employee.version,
        changes={"user": account},
    )
    client.force_login(account)  # a session of their account
    people.absence_create(
        actor=agency.actor, employee_id=employee.pk, kind="sick", starts_on=date(2031, 1, 1),
        ends_on=date(2031, 1, 2), note=f"{who['name']} {who['text']}",
    )  # fmt: skip
    LogEntry.objects.create(
        user=agency.actor, content_type=ContentType.objects.get_for_model(Employee),
        object_id=str(employee.pk), object_repr=who["name"], action_flag=CHANGE, change_message="[]",
    )  # fmt: skip
    # Invited through the outbox, sent by the simulator provider.
    event = agency.event(employees_needed=1, employees_to_ask=1)
    event_ask(actor=agency.actor, event_id=event.pk)
    invitation_message = OutboundMessage.objects.get(employee=employee, kind="invitation")
    assert deliver(invitation_message.pk) == "sent"
    # Their reply, by signed webhook, with text and a WhatsApp profile name.
    params = inbound_params(who["phone"], f"Ja gerne! {who['text']}")
    params["ProfileName"] = who["name"]
    params["WaId"] = who["phone"].lstrip("+")
    assert client.post(INBOUND, params, **signed_headers(INBOUND, params)).status_code == 200
    apply_inbound()
    # A forged one from their number: refused and only counted.
    forged = inbound_params(who["phone"], who["text"])
    assert client.post(INBOUND, forged, **signed_headers(INBOUND, forged, token="forged")).status_code == 403
    return employee


def unique_person() -> dict[str, str]:
    tag = secrets.token_hex(3)
    digits = str(int(tag, 16) % 10_000_000).zfill(7)
    return {
        "name": f"Quirinus Zwetschgenbaum{tag}",
        "phone": f"+49176{digits}",
        "text": f"Zitronenfalter{tag}",
        "username": f"qz-account-{tag}",
        "email": f"quirinus.{tag}@example.org",
    }


def needles_of(who: dict[str, str]) -> list[str]:
    return [who["name"], who["phone"], who["phone"].lstrip("+"), who["text"], who["username"], who["email"]]


@pytest.mark.django_db(transaction=True)
def test_anonymising_leaves_no_trace_in_any_column_of_any_table(
    agency, client, api_as, live_server, settings, carol
) -> None:
    who = unique_person()
    employee = live_a_life(agency, client, api_as, live_server, settings, who)
    needles = needles_of(who)

    before, columns, tables = search(needles)
    # The control: the search finds each of them where the life put them.
    assert all(before[n] for n in needles), before
    assert "messaging_inboundmessage.raw" in before[who["name"]]  # the WhatsApp profile name
    assert "core_idempotencykey.body" in before[who["name"]]
    assert "messaging_inboundmessagehistory.body" in before[who["text"]]
    assert "accounts_userhistory.email" in before[who["email"]]
    sessions_before = as_owner("SELECT count(*) FROM django_session")[0][0]
    assert sessions_before >= 1

    employee = people.employee_anonymise(
        actor=agency.actor, employee_id=employee.pk, expected_version=employee.version
    )

    after, _columns, _tables = search(needles)
    assert after == {n: [] for n in needles}, after
    print(f"searched {columns} columns in {tables} tables: 0 hits for {len(needles)} needles")
    assert as_owner("SELECT count(*) FROM django_session")[0][0] == sessions_before - 1
    # Statistics stay: the invitation, its status and the messages as rows.
    assert employee.invitations.count() == 1
    assert InboundMessage.objects.filter(employee=employee).count() == 1
    assert OutboundMessage.objects.filter(employee=employee).exists()
    # Who anonymised is in the employee's history; the call is recorded once.
    last: Any = employee.history.order_by("-pgh_id").first()  # type: ignore[attr-defined]
    assert last.pgh_context["action"] == "people.employee_anonymise"
    assert last.pgh_context["user"] == agency.actor.pk
    calls = PrivilegedCall.objects.filter(function="crewcall_employee_erase")
    assert [c.arguments for c in calls] == [{"employee_id": employee.pk}]
    # The API and the pages show nothing of it either.
    viewer = api_as(carol)
    shown = viewer.get("inbound-messages").content.decode() + viewer.get("outbound-messages").content.decode()
    client.force_login(carol)
    shown += client.get("/messages/").content.decode()
    shown += client.get(reverse("simulator-conversation", args=[employee.pk])).content.decode()
    for needle in needles:
        assert needle not in shown
    # Idempotent: a second call changes nothing and records nothing.
    people.employee_anonymise(actor=agency.actor, employee_id=employee.pk, expected_version=employee.version)
    assert PrivilegedCall.objects.filter(function="crewcall_employee_erase").count() == 1


def test_the_erase_function_refuses_an_employee_not_anonymised(agency) -> None:
    employee = agency.employee(name="Still Here")
    with pytest.raises(DatabaseError), connection.cursor() as cur:
        cur.execute("SELECT crewcall_employee_erase(%s)", [employee.pk])


@pytest.mark.django_db(transaction=True)
def test_history_rows_change_only_to_their_erased_form_and_only_as_the_owner(agency) -> None:
    employee = agency.employee(name="Hilde Historia")
    # The old switch opens nothing any more.
    for statement in (
        "SELECT set_config('crewcall.erasure', 'on', false);"
        " UPDATE people_employeehistory SET name = 'Moritz'",
        "UPDATE people_employeehistory SET pgh_label = 'forged'",
        "UPDATE people_employeehistory SET pgh_context = '{}'",
        "DELETE FROM people_employeehistory",
        "UPDATE people_rolehistory SET name = 'Forged'",
    ):
        with pytest.raises(psycopg.Error):
            as_owner(statement)
    # The owner may write the erased form, and nothing else of the row changes.
    as_owner(
        "UPDATE people_employeehistory SET name = 'Anonymised employee ' || pgh_obj_id, phone_number = NULL"
        " WHERE pgh_obj_id = %s",
        [employee.pk],
    )
    history: Any = employee.history
    assert set(history.values_list("name", flat=True)) == {f"Anonymised employee {employee.pk}"}


def test_the_registry_generates_the_sql_the_migrations_hold() -> None:
    """One registry: the guard on history updates and the erase function are what
    crewcall/core/audit_chain.py generates now (a change there needs a new migration)."""
    import importlib

    from crewcall.core import audit_chain

    # The newest migration that (re)creates them: the audit chain's (ops 0003).
    guard = erase = importlib.import_module("crewcall.ops.migrations.0003_audit_chain")
    assert guard.UPDATE_CHECK.strip() == audit_chain.update_check_sql().strip()
    assert erase.ERASE.strip() == audit_chain.erase_function_sql().strip()
    # And the registry names real columns of real history tables.
    for erasable in ERASABLE:
        have = {
            r[0]
            for r in as_owner(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [erasable.history]
            )
        }
        assert set(erasable.columns) <= have, erasable.history
