"""The audit trail: every insert, update and delete of every domain table has a history
row carrying actor, source and request id; history rows cannot be changed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pghistory
import pghistory.models
import pytest
from django.apps import apps
from django.db import DatabaseError, connection
from django.db.models import Model
from django.utils import timezone

from crewcall.accounts import services as accounts
from crewcall.accounts.models import User
from crewcall.core.context import request_context
from crewcall.core.tests.sql import refused, run
from crewcall.events import services as events
from crewcall.people import services as people
from crewcall.staffing import event_lifecycle, placement
from crewcall.staffing import services as staffing

pytestmark = pytest.mark.django_db

DOMAIN_APPS = ("accounts", "people", "events", "staffing")


def tracked_models() -> list[type[Model]]:
    """Every concrete table of the domain apps, with the history model that tracks it."""
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in DOMAIN_APPS
        and model._meta.managed
        and not issubclass(model, pghistory.models.Event)  # a history model itself
    ]


def history_model(model: type[Model]) -> type[Model]:
    return apps.get_model(model._meta.app_label, f"{model.__name__}History")


def test_every_domain_table_has_a_history_model() -> None:
    names = {model.__name__ for model in tracked_models()}
    assert {"Employee", "Event", "WorkArea", "Assignment", "Invitation", "WorkLog", "User"} <= names
    assert len(names) == 14
    for model in tracked_models():
        assert history_model(model) is not None, model


def exercise_every_table(actor: User) -> None:
    """Insert, update and delete a row of every domain table: through services where the
    product does it, and through raw SQL (still audited) where it never does."""
    spare_role = people.role_create(actor=actor, key="spare", name="Spare")
    spare_role = people.role_update(
        actor=actor, role_id=spare_role.pk, expected_version=1, changes={"name": "S"}
    )
    people.role_delete(actor=actor, role_id=spare_role.pk, expected_version=spare_role.version)
    role = people.role_create(actor=actor, key="bartender", name="Bartender")
    skill = people.skill_create(actor=actor, key="cocktails", name="Cocktails")
    spare_skill = people.skill_create(actor=actor, key="spare", name="Spare")
    spare_skill = people.skill_update(
        actor=actor, skill_id=spare_skill.pk, expected_version=1, changes={"name": "S"}
    )
    people.skill_delete(actor=actor, skill_id=spare_skill.pk, expected_version=spare_skill.version)

    emp = people.employee_create(
        actor=actor, name="Ada", phone_number="+4915100000001", primary_role=role,
        employment_type="mini_job", skills=[skill],
    )  # fmt: skip
    run("UPDATE people_employeeskill SET created_at = created_at + interval '1 second'")
    emp = people.employee_update(
        actor=actor, employee_id=emp.pk, expected_version=emp.version, changes={"notes": "n"}, skills=[]
    )
    absence = people.absence_create(
        actor=actor, employee_id=emp.pk, kind="vacation", starts_on=date(2030, 1, 1), ends_on=date(2030, 1, 2)
    )
    absence = people.absence_update(
        actor=actor, absence_id=absence.pk, expected_version=1, changes={"note": "beach"}
    )
    people.absence_delete(actor=actor, absence_id=absence.pk, expected_version=absence.version)
    limit = people.employment_type_limit_set(
        actor=actor, employment_type="mini_job", monthly_hours_cap=None, monthly_earnings_cap=Decimal("556")
    )
    people.employment_type_limit_set(
        actor=actor,
        employment_type="mini_job",
        monthly_hours_cap=Decimal("40"),
        monthly_earnings_cap=Decimal("556"),
        expected_version=limit.version,
    )
    run("DELETE FROM people_employmenttypelimit")

    event = events.event_create(
        actor=actor, title="Gala", event_date=date(2025, 5, 1), start_time=time(18),
        hourly_rate=Decimal("15"), employees_needed=1, employees_to_ask=2,
    )  # fmt: skip
    event = events.event_update(
        actor=actor, event_id=event.pk, expected_version=1, changes={"location": "Hall"}
    )
    draft = events.event_create(
        actor=actor, title="Draft", event_date=date(2030, 5, 2), start_time=time(18),
        hourly_rate=Decimal("15"), employees_needed=1,
    )  # fmt: skip
    events.event_delete_draft(actor=actor, event_id=draft.pk, expected_version=draft.version)

    spare_area = events.work_area_create(
        actor=actor, event_id=event.pk, name="Spare", max_capacity=1, required_skills=[skill]
    )
    run("UPDATE events_workareaskill SET created_at = created_at + interval '1 second'")
    spare_area = events.work_area_update(
        actor=actor, work_area_id=spare_area.pk, expected_version=1, changes={"max_capacity": 2}
    )
    events.work_area_delete(actor=actor, work_area_id=spare_area.pk, expected_version=spare_area.version)
    bar = events.work_area_create(actor=actor, event_id=event.pk, name="Bar", max_capacity=2)
    cellar = events.work_area_create(actor=actor, event_id=event.pk, name="Cellar", max_capacity=2)
    event = event_lifecycle.event_transition(
        actor=actor, event_id=event.pk, expected_version=event.version, to_status="recruiting"
    )

    inv = staffing.invitation_create(actor=actor, event_id=event.pk, employee_id=emp.pk)
    inv = staffing.invitation_set_status(
        actor=actor, invitation_id=inv.pk, expected_version=inv.version, status="accepted"
    )
    placed = placement.assignment_create(actor=actor, invitation_id=inv.pk, work_area_id=bar.pk, role_id=role.pk)
    placed = placement.assignment_move(
        actor=actor, assignment_id=placed.pk, expected_version=1, work_area_id=cellar.pk, role_id=role.pk
    )
    placement.assignment_delete(actor=actor, assignment_id=placed.pk, expected_version=placed.version)

    start = timezone.make_aware(datetime(2025, 5, 1, 18))
    log = staffing.work_log_create(
        actor=actor,
        event_id=event.pk,
        employee_id=emp.pk,
        started_at=start,
        ended_at=start + timedelta(hours=4),
    )
    staffing.work_log_update(
        actor=actor, work_log_id=log.pk, expected_version=1, started_at=start,
        ended_at=start + timedelta(hours=5), break_minutes=15,
    )  # fmt: skip
    made = accounts.token_create(actor=actor, user_id=actor.pk, name="script")
    accounts.token_revoke(actor=actor, token_id=made.token.pk)
    # The product never deletes these; raw SQL that does is still recorded.
    run("DELETE FROM accounts_apitoken")
    run("DELETE FROM staffing_worklog")
    run("DELETE FROM staffing_invitation")
    run("DELETE FROM events_workarea")
    run("DELETE FROM events_event")
    run("DELETE FROM people_employee")


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
