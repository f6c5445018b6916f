"""The audit trail: every insert, update and delete of every domain table has a history
row carrying actor, source and request id; history rows cannot be changed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pghistory
import pghistory.models
import pytest
from django.db import DatabaseError, connection

from crewcall.accounts.models import User
from crewcall.core.context import request_context
from crewcall.people import services as people
from crewcall.testing.audit import exercise_every_table, history_model, tracked_models
from crewcall.testing.sql import refused, run

pytestmark = pytest.mark.django_db


def test_every_domain_table_has_a_history_model() -> None:
    names = {model.__name__ for model in tracked_models()}
    assert {"Employee", "Event", "WorkArea", "Assignment", "Invitation", "WorkLog", "User"} <= names
    assert len(names) == 14
    for model in tracked_models():
        assert history_model(model) is not None, model


def test_every_table_records_insert_update_and_delete_with_actor_and_source(alice: User) -> None:
    with request_context(source="cli", request_id="audit-test-1"):
        # User rows are written by Django's auth code; the context still reaches them.
        with pghistory.context(user=alice.pk, source="cli", request_id="audit-test-1"):
            temp = User.objects.create_user("temp", password="x")
            temp.email = "t@example.org"
            temp.save()
            temp.delete()
        exercise_every_table(alice)

    missing = []
    for model in tracked_models():
        history: Any = history_model(model)
        for label in ("insert", "update", "delete"):
            rows = list(history.objects.filter(pgh_label=label).values_list("pgh_context", flat=True))
            good = [
                ctx
                for ctx in rows
                if ctx
                and ctx.get("user") == alice.pk
                and ctx.get("source") == "cli"
                and ctx.get("request_id")
            ]
            if not good:
                missing.append(f"{model._meta.db_table}:{label}")
    assert missing == []


def test_service_history_names_the_use_case(agency) -> None:
    with request_context(source="web", request_id="req-42"):
        employee = agency.employee(name="Zoe")
    row: Any = history_model(type(employee))._default_manager.get(pgh_obj_id=employee.pk, pgh_label="insert")
    assert row.pgh_context["action"] == "people.employee_create"
    assert row.pgh_context["source"] == "web"
    assert row.pgh_context["request_id"] == "req-42"
    assert row.pgh_context["user"] == agency.actor.pk
    assert row.name == "Zoe"


def test_raw_sql_without_context_is_still_recorded(agency) -> None:
    employee = agency.employee()
    with connection.cursor() as cur:
        cur.execute("UPDATE people_employee SET notes = 'sneaky' WHERE id = %s", [employee.pk])
    rows: Any = history_model(type(employee))._default_manager.filter(
        pgh_obj_id=employee.pk, pgh_label="update"
    )
    assert [r.notes for r in rows] == ["sneaky"]


def test_history_rows_cannot_be_changed_or_deleted(agency) -> None:
    agency.employee()
    for table in ("people_employeehistory", "people_rolehistory"):
        refused(f"UPDATE {table} SET pgh_label = 'forged'")
        refused(f"DELETE FROM {table}")
    with pytest.raises(DatabaseError):
        history_model(type(agency.bartender))._default_manager.all().delete()


def test_anonymising_erases_personal_data_from_history_too(agency) -> None:
    employee = agency.employee(name="Greta Garbo", notes="allergic to nuts")
    phone = employee.phone_number
    people.absence_create(
        actor=agency.actor, employee_id=employee.pk, kind="sick", starts_on=date(2030, 1, 1),
        ends_on=date(2030, 1, 3), note="flu",
    )  # fmt: skip
    people.employee_anonymise(actor=agency.actor, employee_id=employee.pk, expected_version=employee.version)
    dump = str(run("SELECT row_to_json(h)::text FROM people_employeehistory h"))
    dump += str(run("SELECT row_to_json(h)::text FROM people_absencehistory h"))
    assert "Greta" not in dump and phone not in dump and "nuts" not in dump and "flu" not in dump
    labels = [r[0] for r in run("SELECT pgh_label FROM people_employeehistory ORDER BY pgh_id")]
    assert labels == ["insert", "update"]  # the trail itself is intact


def test_the_erasure_switch_cannot_forge_or_delete_history(agency) -> None:
    agency.employee(name="Max")
    run("SELECT set_config('crewcall.erasure', 'on', true)")
    refused("UPDATE people_employeehistory SET pgh_label = 'forged'")
    refused("UPDATE people_employeehistory SET pgh_context = '{}'")
    refused("DELETE FROM people_employeehistory")
    run("SELECT set_config('crewcall.erasure', 'off', true)")
    refused("UPDATE people_employeehistory SET name = 'Moritz'")
