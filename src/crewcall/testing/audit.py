"""Every domain table and its history model, and a workout that inserts, updates and deletes
a row of each: the audit trail's test and the change feed's capture test share it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pghistory.models
from django.apps import apps
from django.db.models import Model
from django.utils import timezone

from crewcall.accounts import services as accounts
from crewcall.accounts.models import User
from crewcall.events import services as events
from crewcall.people import services as people
from crewcall.staffing import event_lifecycle, placement
from crewcall.staffing import services as staffing
from crewcall.testing.sql import run

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
    placed = placement.assignment_create(
        actor=actor, invitation_id=inv.pk, work_area_id=bar.pk, role_id=role.pk
    )
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
