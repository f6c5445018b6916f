"""The services: versions, conflicts, lifecycle, isolation between events, archival."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest
from django.db import DatabaseError

from crewcall.core.errors import RuleViolation, ValidationFailed, VersionConflict
from crewcall.events import services as events
from crewcall.events.models import Event, WorkArea
from crewcall.events.selectors import work_areas_with_load
from crewcall.people import services as people
from crewcall.staffing import event_lifecycle, placement
from crewcall.staffing import services as staffing
from crewcall.staffing.models import Assignment, Invitation
from crewcall.testing.sql import refused, run

pytestmark = pytest.mark.django_db


def test_every_update_bumps_the_version_and_a_stale_one_is_refused(agency) -> None:
    employee = agency.employee(name="Anna")
    assert employee.version == 1
    updated = people.employee_update(
        actor=agency.actor, employee_id=employee.pk, expected_version=1, changes={"notes": "speaks French"}
    )
    assert updated.version == 2
    with pytest.raises(VersionConflict) as info:
        people.employee_update(
            actor=agency.actor, employee_id=employee.pk, expected_version=1, changes={"notes": "lost update"}
        )
    assert (info.value.expected, info.value.current) == (1, 2)
    assert "version 1" in info.value.message and "version 2" in info.value.message
    employee.refresh_from_db()
    assert employee.notes == "speaks French"


def test_a_missing_version_is_refused(agency) -> None:
    event = agency.event()
    with pytest.raises(ValidationFailed) as info:
        events.event_update(
            actor=agency.actor, event_id=event.pk, expected_version=None, changes={"title": "X"}
        )
    assert "version" in info.value.errors


def test_bad_input_names_the_field_and_writes_nothing(agency) -> None:
    with pytest.raises(ValidationFailed) as info:
        people.employee_create(
            actor=agency.actor,
            name="Bad",
            phone_number="not a phone",
            primary_role=agency.bartender,
            employment_type="part_time",
        )
    assert list(info.value.errors) == ["phone_number"]
    with pytest.raises(RuleViolation) as rule:
        events.event_create(
            actor=agency.actor,
            title="Cheap",
            event_date=date(2030, 1, 1),
            start_time=time(18),
            hourly_rate=Decimal("-1"),
            employees_needed=1,
        )
    assert list(rule.value.errors) == ["hourly_rate"]
    with pytest.raises(RuleViolation) as area_rule:
        agency.area(agency.event(), role_requirements={"bartender": 9}, capacity=2)
    assert list(area_rule.value.errors) == ["role_requirements"]
    assert not Event.objects.filter(title="Cheap").exists()
    assert not WorkArea.objects.exists()


def test_an_illegal_transition_is_refused_by_the_service(agency) -> None:
    event = agency.event(status="draft")
    with pytest.raises(ValidationFailed):
        event_lifecycle.event_transition(
            actor=agency.actor, event_id=event.pk, expected_version=event.version, to_status="completed"
        )
    event.refresh_from_db()
    assert event.status == "draft"


def test_acceptances_flip_recruiting_and_staffed(agency) -> None:
    event = agency.event(employees_needed=2, employees_to_ask=3)
    first, second = agency.employee(name="A"), agency.employee(name="B")
    agency.accepted(event, first)
    inv = agency.accepted(event, second)
    event.refresh_from_db()
    assert event.status == "staffed"
    staffing.invitation_set_status(
        actor=agency.actor, invitation_id=inv.pk, expected_version=inv.version, status="cancelled"
    )
    event.refresh_from_db()
    assert event.status == "recruiting"


def test_placing_and_counting_assignments(agency) -> None:
    event = agency.event(employees_needed=3, employees_to_ask=3)
    bar = agency.area(event, "Bar", capacity=2, role_requirements={"bartender": 1})
    people_ = [agency.employee(name=n) for n in "ABC"]
    invs = [agency.accepted(event, p) for p in people_]
    placement.assignment_create(
        actor=agency.actor, invitation_id=invs[0].pk, work_area_id=bar.pk, role_id=agency.bartender.pk
    )
    with pytest.raises(RuleViolation) as info:
        placement.assignment_create(
            actor=agency.actor, invitation_id=invs[1].pk, work_area_id=bar.pk, role_id=agency.bartender.pk
        )
    assert list(info.value.errors) == ["role"]
    placement.assignment_create(
        actor=agency.actor, invitation_id=invs[1].pk, work_area_id=bar.pk, role_id=agency.waiter.pk
    )
    with pytest.raises(RuleViolation) as full:
        placement.assignment_create(
            actor=agency.actor, invitation_id=invs[2].pk, work_area_id=bar.pk, role_id=agency.waiter.pk
        )
    assert list(full.value.errors) == ["work_area"]
    loads = {a.name: a.assigned for a in work_areas_with_load(event_id=event.pk)}  # type: ignore[attr-defined]
    assert loads == {"Bar": 2}


def _busy_event(agency, title: str):
    event = agency.event(title, employees_needed=1, employees_to_ask=2)
    area = agency.area(event, "Bar")
    employee = agency.employee(name=f"{title} crew")
    inv = agency.accepted(event, employee)
    placement.assignment_create(
        actor=agency.actor, invitation_id=inv.pk, work_area_id=area.pk, role_id=agency.bartender.pk
    )
    return event


def _snapshot(event: Event) -> tuple[object, ...]:
    event.refresh_from_db()
    return (
        event.status,
        event.version,
        sorted(Invitation.objects.filter(event=event).values_list("status", "version")),
        sorted(Assignment.objects.filter(event=event).values_list("id", "version")),
        sorted(WorkArea.objects.filter(event=event).values_list("id", "version")),
    )


def test_cancelling_one_event_touches_no_other(agency) -> None:
    gala, fair = _busy_event(agency, "Gala"), _busy_event(agency, "Fair")
    before = _snapshot(fair)
    event_lifecycle.event_cancel(
        actor=agency.actor, event_id=gala.pk, expected_version=Event.objects.get(pk=gala.pk).version
    )
    gala.refresh_from_db()
    assert gala.status == "cancelled"
    assert set(Invitation.objects.filter(event=gala).values_list("status", flat=True)) == {"cancelled"}
    assert not Assignment.objects.filter(event=gala).exists()
    assert _snapshot(fair) == before


def test_deleting_a_draft_touches_no_other_event(agency) -> None:
    fair = _busy_event(agency, "Fair")
    before = _snapshot(fair)
    draft = agency.event("Draft", status="draft")
    agency.area(draft, "Bar")
    events.event_delete_draft(actor=agency.actor, event_id=draft.pk, expected_version=draft.version)
    assert not Event.objects.filter(pk=draft.pk).exists()
    assert _snapshot(fair) == before


def test_events_with_history_are_cancelled_not_deleted(agency) -> None:
    event = _busy_event(agency, "Gala")
    event.refresh_from_db()
    with pytest.raises(ValidationFailed):
        events.event_delete_draft(actor=agency.actor, event_id=event.pk, expected_version=event.version)
    # Raw SQL cannot delete it either: its invitations and assignments hold on to it.
    refused("DELETE FROM events_event WHERE id = %s", [event.pk])
    assert Event.objects.filter(pk=event.pk).exists()


def test_employees_with_history_are_archived_not_deleted(agency) -> None:
    event = agency.event()
    employee = agency.employee()
    agency.accepted(event, employee)
    refused("DELETE FROM people_employee WHERE id = %s", [employee.pk])
    archived = people.employee_archive(actor=agency.actor, employee_id=employee.pk, expected_version=1)
    assert archived.is_active is False
    with pytest.raises(ValidationFailed):
        staffing.invitation_create(
            actor=agency.actor, event_id=agency.event("Next").pk, employee_id=employee.pk
        )


def test_anonymising_keeps_the_statistics(agency) -> None:
    event = agency.event()
    employee = agency.employee(name="Greta Garbo", notes="private")
    agency.accepted(event, employee)
    gone = people.employee_anonymise(actor=agency.actor, employee_id=employee.pk, expected_version=1)
    assert gone.phone_number is None and gone.notes == "" and "Greta" not in gone.name
    assert Invitation.objects.filter(employee=employee).count() == 1
    with pytest.raises(ValidationFailed):
        people.employee_update(
            actor=agency.actor,
            employee_id=employee.pk,
            expected_version=gone.version,
            changes={"name": "Greta"},
        )


def test_an_event_from_a_template_copies_its_work_areas(agency, django_assert_max_num_queries) -> None:
    skill = people.skill_create(actor=agency.actor, key="cocktails", name="Cocktails")
    template = events.event_create(
        actor=agency.actor,
        title="Wedding",
        start_time=time(16),
        end_time=time(2),
        ends_next_day=True,
        hourly_rate=Decimal("16"),
        employees_needed=4,
        employees_to_ask=6,
        is_template=True,
    )
    agency.area(template, "Bar", capacity=2, role_requirements={"bartender": 2}, required_skills=[skill])
    agency.area(template, "Service", capacity=2)
    event = events.event_create_from_template(
        actor=agency.actor, template_id=template.pk, event_date=date(2030, 6, 6)
    )
    assert (event.title, event.status, event.template_id, event.ends_next_day) == (
        "Wedding",
        "draft",
        template.pk,
        True,
    )
    areas = list(event.work_areas.order_by("name"))
    assert [(a.name, a.max_capacity, a.role_requirements) for a in areas] == [
        ("Bar", 2, {"bartender": 2}),
        ("Service", 2, {}),
    ]
    assert list(areas[0].required_skills.all()) == [skill]
    # Templates keep no invitations and cannot start recruiting.
    with pytest.raises(ValidationFailed):
        event_lifecycle.event_transition(
            actor=agency.actor,
            event_id=template.pk,
            expected_version=template.version,
            to_status="recruiting",
        )


def test_a_raw_sql_change_still_cannot_skip_the_rules(agency) -> None:
    event = agency.event()
    with pytest.raises(DatabaseError):
        run("UPDATE events_event SET status = 'draft' WHERE id = %s", [event.pk])


def test_hours_are_checked_against_the_event_and_the_clock(agency) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    # The night the clocks went forward: 22:00 to 04:00 on the wall is 5 hours, not 6.
    event = agency.event(
        "Spring party",
        event_date=date(2025, 3, 29),
        start_time=time(22),
        end_time=time(4),
        ends_next_day=True,
    )
    employee = agency.employee()
    agency.accepted(event, employee)
    start = datetime(2025, 3, 29, 22, tzinfo=berlin)
    end = datetime(2025, 3, 30, 4, tzinfo=berlin)
    with pytest.raises(ValidationFailed) as info:
        staffing.work_log_create(
            actor=agency.actor, event_id=event.pk, employee_id=employee.pk, started_at=start, ended_at=end,
            break_minutes=300,
        )  # fmt: skip
    assert list(info.value.errors) == ["break_minutes"]
    log = staffing.work_log_create(
        actor=agency.actor, event_id=event.pk, employee_id=employee.pk, started_at=start, ended_at=end,
        break_minutes=30,
    )  # fmt: skip
    assert str(log.hours) == "4.50"
    later = agency.event("Later", event_date=timezone_today() + timedelta(days=3))
    agency.accepted(later, employee)
    soon = datetime.combine(later.event_date, time(18), tzinfo=berlin)
    with pytest.raises(ValidationFailed) as future:
        staffing.work_log_create(
            actor=agency.actor, event_id=later.pk, employee_id=employee.pk, started_at=soon,
            ended_at=soon + timedelta(hours=3),
        )  # fmt: skip
    assert list(future.value.errors) == ["started_at"]
    with pytest.raises(ValidationFailed) as elsewhere:
        staffing.work_log_create(
            actor=agency.actor, event_id=event.pk, employee_id=agency.employee(name="X").pk,
            started_at=start - timedelta(days=5), ended_at=end - timedelta(days=5),
        )  # fmt: skip
    assert list(elsewhere.value.errors) == ["started_at"]


def timezone_today() -> date:
    from django.utils import timezone

    return timezone.localdate()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        ("duplicate_invitation", "employee"),
        ("duplicate_area_name", "name"),
        ("duplicate_active_phone", "phone_number"),
        ("too_few_to_ask", "employees_to_ask"),
        ("end_before_start", "end_time"),
        ("overlapping_absence", "starts_on"),
        ("invite_to_template", "event"),
        ("role_unknown", "role_requirements"),
    ],
)
def test_services_report_database_refusals_by_field(agency, call: str, field: str) -> None:
    event = agency.event()
    employee = agency.employee()

    def duplicate_invitation() -> None:
        staffing.invitation_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk)
        staffing.invitation_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk)

    def duplicate_area_name() -> None:
        agency.area(event, "Bar")
        agency.area(event, "bar")

    def duplicate_active_phone() -> None:
        people.employee_create(
            actor=agency.actor, name="Twin", phone_number=employee.phone_number,
            primary_role=agency.bartender, employment_type="freelance",
        )  # fmt: skip

    def too_few_to_ask() -> None:
        agency.event("Short", employees_needed=3, employees_to_ask=2)

    def end_before_start() -> None:
        agency.event("Backwards", start_time=time(20), end_time=time(19))

    def overlapping_absence() -> None:
        people.absence_create(
            actor=agency.actor, employee_id=employee.pk, kind="vacation",
            starts_on=date(2030, 1, 1), ends_on=date(2030, 1, 9),
        )  # fmt: skip
        people.absence_create(
            actor=agency.actor, employee_id=employee.pk, kind="sick",
            starts_on=date(2030, 1, 9), ends_on=date(2030, 1, 10),
        )  # fmt: skip

    def invite_to_template() -> None:
        template = events.event_create(
            actor=agency.actor, title="T", start_time=time(9), hourly_rate=Decimal(1), employees_needed=1,
            is_template=True,
        )  # fmt: skip
        staffing.invitation_create(actor=agency.actor, event_id=template.pk, employee_id=employee.pk)

    def role_unknown() -> None:
        agency.area(event, "Stage", role_requirements={"juggler": 1})

    with pytest.raises(RuleViolation) as info:
        locals()[call]()
    assert list(info.value.errors) == [field], info.value.errors


def test_refusals_are_worded_for_people_not_as_sql(agency) -> None:
    employee = agency.employee()
    with pytest.raises(RuleViolation) as info:
        people.employee_create(
            actor=agency.actor, name="Twin", phone_number=employee.phone_number,
            primary_role=agency.bartender, employment_type="freelance",
        )  # fmt: skip
    assert info.value.errors == {"phone_number": ["Another active employee has this phone number."]}
    with pytest.raises(RuleViolation) as rate:
        agency.event("Cheap", hourly_rate=Decimal("-0.01"))
    assert rate.value.errors == {"hourly_rate": ["This cannot be negative."]}
    with pytest.raises(RuleViolation) as role:
        agency.area(agency.event(), "Stage", role_requirements={"juggler": 1})
    assert role.value.errors == {"role_requirements": ['"juggler" is not a role in the catalogue.']}


def test_a_plan_that_pays_nothing_or_wants_answers_after_the_start_is_refused(agency) -> None:
    from datetime import datetime, time, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from crewcall.core.errors import ValidationFailed
    from crewcall.events.services import event_update

    day = timezone.localdate() + timedelta(days=10)
    with pytest.raises(ValidationFailed) as zero:
        agency.event("Free", hourly_rate=Decimal("0.00"))
    assert list(zero.value.errors) == ["hourly_rate"]
    late = timezone.make_aware(datetime.combine(day, time(19)))
    with pytest.raises(ValidationFailed) as after:
        agency.event("Late", event_date=day, start_time=time(18), reply_deadline=late)
    assert list(after.value.errors) == ["reply_deadline"]
    event = agency.event(
        "Fine", event_date=day, start_time=time(18), reply_deadline=late - timedelta(hours=2)
    )
    with pytest.raises(ValidationFailed) as moved:  # the event moved before its deadline
        event_update(actor=agency.actor, event_id=event.pk, expected_version=event.version,
                     changes={"start_time": time(16)})  # fmt: skip
    assert list(moved.value.errors) == ["reply_deadline"]
    event_update(
        actor=agency.actor, event_id=event.pk, expected_version=event.version, changes={"title": "Ok"}
    )
