"""Every invariant of the domain model is refused by PostgreSQL itself, in raw SQL."""

from __future__ import annotations

import itertools
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crewcall.events.models import EVENT_TRANSITIONS
from crewcall.staffing.models import INVITATION_TRANSITIONS
from crewcall.testing.sql import refused, run

pytestmark = pytest.mark.django_db

EVENT_COLUMNS = (
    "title, location, event_date, start_time, end_time, ends_next_day, description, specialties,"
    " hourly_rate, employees_needed, employees_to_ask, status, is_template"
)


def insert_event_sql(**over: object) -> str:
    values = {
        "title": "'Raw'",
        "location": "''",
        "event_date": "'2030-01-01'",
        "start_time": "'18:00'",
        "end_time": "'23:00'",
        "ends_next_day": "false",
        "description": "''",
        "specialties": "''",
        "hourly_rate": "10",
        "employees_needed": "2",
        "employees_to_ask": "3",
        "status": "'draft'",
        "is_template": "false",
    }
    values.update({k: str(v) for k, v in over.items()})
    return f"INSERT INTO events_event ({EVENT_COLUMNS}) VALUES ({', '.join(values.values())})"


@pytest.mark.parametrize(
    ("over", "rule"),
    [
        ({"hourly_rate": "-1"}, "events_event__hourly_rate__non_negative"),
        ({"employees_needed": "0", "employees_to_ask": "0"}, "events_event__employees_needed__positive"),
        ({"employees_to_ask": "1"}, "events_event__employees_to_ask__covers_needed"),
        ({"end_time": "'17:00'"}, "events_event__end_time__after_start"),
        ({"end_time": "'19:00'", "ends_next_day": "true"}, "events_event__end_time__after_start"),
        ({"end_time": "NULL", "ends_next_day": "true"}, "events_event__end_time__after_start"),
        ({"title": "'  '"}, "events_event__title__not_blank"),
        ({"event_date": "NULL"}, "events_event__event_date__required"),
        ({"status": "'recruiting'"}, "events_event__status__transition"),
        ({"status": "'nonsense'"}, "events_event__status__transition"),
    ],
)
def test_it_refuses_a_bad_event_row(over: dict[str, str], rule: str) -> None:
    refused(insert_event_sql(**over), rule=rule)


def test_it_accepts_an_overnight_and_an_open_ended_event() -> None:
    run(insert_event_sql(end_time="'02:00'", ends_next_day="true"))
    run(insert_event_sql(end_time="NULL"))
    assert run("SELECT count(*) FROM events_event")[0][0] == 2


YESTERDAY = timezone.localdate() - timedelta(days=1)


def _event_in(agency, status: str):
    # Yesterday's: an event is completed only once it has ended (test below).
    if status in ("completed", "cancelled"):
        event = agency.event(status="recruiting", event_date=YESTERDAY)
        run("UPDATE events_event SET status = %s WHERE id = %s", [status, event.pk])
        return event
    return agency.event(status=status, event_date=YESTERDAY)


def test_event_transitions_in_the_database_match_the_lifecycle(agency) -> None:
    statuses = list(EVENT_TRANSITIONS)
    for old, new in itertools.product(statuses, statuses):
        if old == new:
            continue
        event = _event_in(agency, old)
        statement = "UPDATE events_event SET status = %s WHERE id = %s"
        if new in EVENT_TRANSITIONS[old]:
            run(statement, [new, event.pk])
        else:
            refused(statement, [new, event.pk], rule="events_event__status__transition")


def test_invitation_transitions_in_the_database_match_the_lifecycle(agency) -> None:
    event = agency.event(employees_needed=50, employees_to_ask=60)
    statuses = list(INVITATION_TRANSITIONS)
    paths = {
        "asked": [],
        "accepted": ["accepted"],
        "waitlisted": ["waitlisted"],
        "declined": ["declined"],
        "expired": ["expired"],
        "cancelled": ["cancelled"],
        "completed": ["accepted", "completed"],
    }
    for old, new in itertools.product(statuses, statuses):
        if old == new:
            continue
        employee = agency.employee(name=f"{old}-{new}")
        run(
            "INSERT INTO staffing_invitation (event_id, employee_id, status, wave, pick_reason)"
            " VALUES (%s, %s, 'asked', 1, '')",
            [event.pk, employee.pk],
        )
        for step in paths[old]:
            run("UPDATE staffing_invitation SET status = %s WHERE employee_id = %s", [step, employee.pk])
        statement = "UPDATE staffing_invitation SET status = %s WHERE employee_id = %s"
        if new in INVITATION_TRANSITIONS[old]:
            run(statement, [new, employee.pk])
        else:
            refused(statement, [new, employee.pk], rule="staffing_invitation__status__transition")


def test_templates_never_get_invitations(agency) -> None:
    from crewcall.events.services import event_create

    template = event_create(
        actor=agency.actor,
        title="Tpl",
        start_time=time(18),
        hourly_rate=Decimal(10),
        employees_needed=1,
        is_template=True,
    )
    employee = agency.employee()
    refused(
        "INSERT INTO staffing_invitation (event_id, employee_id, status, wave, pick_reason)"
        " VALUES (%s, %s, 'asked', 1, '')",
        [template.pk, employee.pk],
        rule="staffing_invitation__event__not_template",
    )
    refused(
        "UPDATE events_event SET status = 'recruiting' WHERE id = %s",
        [template.pk],
        rule="events_event__is_template__plain",
    )


def test_uniques_hold_in_sql(agency) -> None:
    event = agency.event()
    area = agency.area(event, name="Bar")
    employee = agency.employee()
    inv = agency.accepted(event, employee)
    refused(
        "INSERT INTO staffing_invitation (event_id, employee_id, status, wave, pick_reason)"
        " VALUES (%s, %s, 'asked', 1, '')",
        [event.pk, employee.pk],
        rule="staffing_invitation__employee__unique_in_event",
    )
    refused(
        "INSERT INTO events_workarea (event_id, name, location, description, max_capacity, is_active, priority,"
        " role_requirements, color_theme, position_order) VALUES (%s, 'BAR', '', '', 2, true, 'low', '{}', 'blue', 0)",
        [event.pk],
        rule="events_workarea__name__unique_in_event",
    )
    refused(
        "INSERT INTO people_employee (name, phone_number, primary_role_id, employment_type, is_always_needed,"
        " is_active, notes, preferred_language) VALUES ('Twin', %s, %s, 'mini_job', false, true, '', 'de')",
        [employee.phone_number, agency.bartender.pk],
        rule="people_employee__phone_number__unique_active",
    )
    # An archived employee's number may be reused by an active one.
    run("UPDATE people_employee SET is_active = false WHERE id = %s", [employee.pk])
    run(
        "INSERT INTO people_employee (name, phone_number, primary_role_id, employment_type, is_always_needed,"
        " is_active, notes, preferred_language) VALUES ('Twin', %s, %s, 'mini_job', false, true, '', 'de')",
        [employee.phone_number, agency.bartender.pk],
    )
    run(
        "INSERT INTO events_assignment (event_id, employee_id, invitation_id, work_area_id, role_id)"
        " VALUES (%s, %s, %s, %s, %s)",
        [event.pk, employee.pk, inv.pk, area.pk, agency.bartender.pk],
    )
    second_area = agency.area(event, name="Kitchen")
    refused(
        "INSERT INTO events_assignment (event_id, employee_id, invitation_id, work_area_id, role_id)"
        " VALUES (%s, %s, %s, %s, %s)",
        [event.pk, employee.pk, inv.pk, second_area.pk, agency.bartender.pk],
        # one invitation per employee and event, one assignment per invitation
        rule=("events_assignment_invitation_id_key", "events_assignment__employee__unique_in_event"),
    )


@pytest.mark.parametrize(
    ("requirements", "capacity", "rule"),
    [
        ("[1, 2]", 5, "events_workarea__role_requirements__object"),
        ('{"bartender": 0}', 5, "events_workarea__role_requirements__positive"),
        ('{"bartender": -2}', 5, "events_workarea__role_requirements__positive"),
        ('{"bartender": 1.5}', 5, "events_workarea__role_requirements__positive"),
        ('{"bartender": "2"}', 5, "events_workarea__role_requirements__positive"),
        ('{"juggler": 1}', 5, "events_workarea__role_requirements__known_role"),
        ('{"bartender": 3, "waiter": 3}', 5, "events_workarea__role_requirements__within_capacity"),
        ("{}", 0, "events_workarea__max_capacity__positive"),
    ],
)
def test_role_requirements_are_checked_in_sql(agency, requirements: str, capacity: int, rule: str) -> None:
    event = agency.event()
    refused(
        "INSERT INTO events_workarea (event_id, name, location, description, max_capacity, is_active, priority,"
        " role_requirements, color_theme, position_order) VALUES (%s, 'Bar', '', '', %s, true, 'low', %s, 'blue', 0)",
        [event.pk, capacity, requirements],
        rule=rule,
    )


def test_a_required_role_cannot_vanish_or_be_renamed(agency) -> None:
    event = agency.event()
    agency.area(event, role_requirements={"cook": 1})
    refused("DELETE FROM people_role WHERE key = 'cook'", rule="people_role__key__in_use")
    refused("UPDATE people_role SET key = 'chef' WHERE key = 'cook'", rule="people_role__key__immutable")


def test_capacity_and_role_caps_hold_in_sql(agency) -> None:
    event = agency.event(employees_needed=5, employees_to_ask=10)
    area = agency.area(event, capacity=3, role_requirements={"bartender": 1, "waiter": 1})
    people = [agency.employee(name=f"P{i}") for i in range(4)]
    invs = [agency.accepted(event, p) for p in people]
    insert = (
        "INSERT INTO events_assignment (event_id, employee_id, invitation_id, work_area_id, role_id)"
        " VALUES (%s, %s, %s, %s, %s)"
    )
    run(insert, [event.pk, people[0].pk, invs[0].pk, area.pk, agency.bartender.pk])
    refused(
        insert,
        [event.pk, people[1].pk, invs[1].pk, area.pk, agency.bartender.pk],
        rule="events_assignment__role__requirement",
    )
    run(insert, [event.pk, people[1].pk, invs[1].pk, area.pk, agency.cook.pk])  # the one free place
    refused(
        insert,
        [event.pk, people[2].pk, invs[2].pk, area.pk, agency.cook.pk],
        rule="events_assignment__role__requirement",
    )
    run(insert, [event.pk, people[2].pk, invs[2].pk, area.pk, agency.waiter.pk])
    refused(
        insert,
        [event.pk, people[3].pk, invs[3].pk, area.pk, agency.waiter.pk],
        rule="events_assignment__work_area__capacity",
    )
    refused(
        "UPDATE events_workarea SET max_capacity = 2, role_requirements = '{}' WHERE id = %s",
        [area.pk],
        rule="events_workarea__max_capacity__above_assigned",
    )
    assert run("SELECT count(*) FROM events_assignment WHERE work_area_id = %s", [area.pk])[0][0] == 3


def test_an_assignment_cannot_cross_events(agency) -> None:
    gala, fair = agency.event("Gala"), agency.event("Fair")
    fair_area = agency.area(fair)
    employee = agency.employee()
    inv = agency.accepted(gala, employee)
    refused(
        "INSERT INTO events_assignment (event_id, employee_id, invitation_id, work_area_id, role_id)"
        " VALUES (%s, %s, %s, %s, %s)",
        [gala.pk, employee.pk, inv.pk, fair_area.pk, agency.bartender.pk],
        rule="events_assignment__work_area__same_event",
    )


def test_only_accepted_people_are_placed(agency) -> None:
    from crewcall.staffing.services import invitation_create

    event = agency.event()
    area = agency.area(event)
    employee = agency.employee()
    inv = invitation_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk)
    refused(
        "INSERT INTO events_assignment (event_id, employee_id, invitation_id, work_area_id, role_id)"
        " VALUES (%s, %s, %s, %s, %s)",
        [event.pk, employee.pk, inv.pk, area.pk, agency.bartender.pk],
        rule="events_assignment__invitation__accepted",
    )


def test_money_counts_times_and_phones_are_checked(agency) -> None:
    event = agency.event()
    employee = agency.employee()
    agency.accepted(event, employee)
    refused(
        "INSERT INTO staffing_worklog (event_id, employee_id, started_at, ended_at, break_minutes, note)"
        " VALUES (%s, %s, now(), now() - interval '1 hour', 0, '')",
        [event.pk, employee.pk],
        rule=(
            "staffing_worklog__ended_at__after_start",
            "staffing_worklog__break_minutes__shorter_than_shift",
        ),
    )
    refused(
        "INSERT INTO staffing_worklog (event_id, employee_id, started_at, ended_at, break_minutes, note)"
        " VALUES (%s, %s, now(), now() + interval '1 hour', 60, '')",
        [event.pk, employee.pk],
        rule="staffing_worklog__break_minutes__shorter_than_shift",
    )
    refused(
        "UPDATE people_employee SET phone_number = '0151 1234' WHERE id = %s",
        [employee.pk],
        rule="people_employee__phone_number__e164",
    )
    refused(
        "INSERT INTO people_employmenttypelimit (employment_type, monthly_hours_cap, monthly_earnings_cap)"
        " VALUES ('mini_job', NULL, -1)",
        rule="people_employmenttypelimit__monthly_earnings_cap__non_negative",
    )
    refused(
        "INSERT INTO people_absence (employee_id, kind, starts_on, ends_on, note)"
        " VALUES (%s, 'sick', '2030-01-05', '2030-01-01', '')",
        [employee.pk],
        rule="people_absence__ends_on__after_start",
    )
    run(
        "INSERT INTO people_absence (employee_id, kind, starts_on, ends_on, note)"
        " VALUES (%s, 'vacation', '2030-01-01', '2030-01-10', '')",
        [employee.pk],
    )
    refused(
        "INSERT INTO people_absence (employee_id, kind, starts_on, ends_on, note)"
        " VALUES (%s, 'sick', '2030-01-10', '2030-01-12', '')",
        [employee.pk],
        rule="people_absence__starts_on__no_overlap",
    )


def test_hours_only_for_people_who_accepted(agency) -> None:
    event = agency.event()
    stranger = agency.employee()
    refused(
        "INSERT INTO staffing_worklog (event_id, employee_id, started_at, ended_at, break_minutes, note)"
        " VALUES (%s, %s, now(), now() + interval '2 hours', 0, '')",
        [event.pk, stranger.pk],
        rule="staffing_worklog__employee__accepted",
    )


def test_version_and_updated_at_are_kept_by_the_database(agency) -> None:
    employee = agency.employee()
    before = run("SELECT version, updated_at FROM people_employee WHERE id = %s", [employee.pk])[0]
    assert before[0] == 1
    # Even a statement that tries to set the version itself gets the database's count.
    run("UPDATE people_employee SET notes = 'x', version = 99 WHERE id = %s", [employee.pk])
    run("UPDATE people_employee SET notes = 'y' WHERE id = %s", [employee.pk])
    after = run("SELECT version, updated_at, created_at FROM people_employee WHERE id = %s", [employee.pk])[0]
    assert after[0] == 3
    assert after[1] >= before[1]
    refused_insert_version = run(
        "INSERT INTO people_role (key, name, is_active, version) VALUES ('runner', 'Runner', true, 7)"
        " RETURNING version"
    )
    assert refused_insert_version[0][0] == 1


def test_derived_hours_come_from_the_work_log(agency) -> None:
    from datetime import datetime, timedelta

    from django.utils import timezone

    from crewcall.people.models import EmployeeStats
    from crewcall.staffing.services import work_log_create

    employee = agency.employee()
    start = timezone.make_aware(datetime(2025, 1, 1, 18, 0))
    for title, hours in (("A", 5), ("B", 3)):
        event = agency.event(title, event_date=start.date())
        agency.accepted(event, employee)
        work_log_create(
            actor=agency.actor,
            event_id=event.pk,
            employee_id=employee.pk,
            started_at=start,
            ended_at=start + timedelta(hours=hours, minutes=30),
            break_minutes=30,
        )
    stats = EmployeeStats.objects.get(employee=employee)
    assert str(stats.total_hours_worked) == "8.00"
    assert stats.events_worked == 2
    assert stats.last_worked_date == start.date()
    run("UPDATE staffing_worklog SET break_minutes = 90 WHERE employee_id = %s", [employee.pk])
    stats = EmployeeStats.objects.get(employee=employee)
    assert str(stats.total_hours_worked) == "6.00"
    refused("UPDATE staffing_worklog SET hours = 100 WHERE employee_id = %s", [employee.pk])


def test_the_database_refuses_to_complete_an_event_before_it_has_ended(agency) -> None:
    # The earliest its end can be, in any time zone (UTC+14): an event ending tomorrow
    # evening, or in 15 hours of wall-clock time, is refused; one that ended is not.
    later = agency.event(event_date=timezone.localdate() + timedelta(days=2))
    refused("UPDATE events_event SET status = 'completed' WHERE id = %s", [later.pk],
            rule="events_event__status__not_before_end")  # fmt: skip
    open_end = agency.event(event_date=timezone.localdate() + timedelta(days=2), end_time=None)
    refused("UPDATE events_event SET status = 'completed' WHERE id = %s", [open_end.pk],
            rule="events_event__status__not_before_end")  # fmt: skip
    ended = agency.event(event_date=YESTERDAY - timedelta(days=1))
    run("UPDATE events_event SET status = 'completed' WHERE id = %s", [ended.pk])
