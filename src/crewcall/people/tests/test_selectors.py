"""Lists cost the same number of queries for 3 rows as for 30 (no N+1)."""

from __future__ import annotations

import pytest

from crewcall.events.selectors import work_areas_with_load
from crewcall.people.selectors import employee_list
from crewcall.people.services import skill_create
from crewcall.staffing.selectors import invitation_counts, invitations_for_event

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("size", [3, 30])
def test_employee_list_query_budget(agency, django_assert_num_queries, size: int) -> None:
    skill = skill_create(actor=agency.actor, key="wine", name="Wine")
    for i in range(size):
        agency.employee(name=f"E{i:02}", skills=[skill])
    with django_assert_num_queries(2):
        rows = [
            (e.name, e.primary_role.key, [s.key for s in e.skills.all()], e.stats.total_hours_worked)
            for e in employee_list()
        ]
    assert len(rows) == size and rows[0][2] == ["wine"] and str(rows[0][3]) == "0.00"


@pytest.mark.parametrize("size", [2, 12])
def test_event_board_reads_query_budget(agency, django_assert_num_queries, size: int) -> None:
    event = agency.event(employees_needed=size, employees_to_ask=size)
    for i in range(size):
        agency.area(event, name=f"Area {i}")
        agency.accepted(event, agency.employee(name=f"P{i}"))
    with django_assert_num_queries(3):
        names = [
            (i.employee.name, i.employee.primary_role.key) for i in invitations_for_event(event_id=event.pk)
        ]
        loads = [a.assigned for a in work_areas_with_load(event_id=event.pk)]  # type: ignore[attr-defined]
        counts = invitation_counts(event_id=event.pk)
    assert len(names) == size and loads == [0] * size and counts["accepted"] == size


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("muller", {"Jürgen Müller"}),
        ("MÜLLER", {"Jürgen Müller"}),
        ("jose", {"José Ñúñez"}),
        ("nunez", {"José Ñúñez"}),
        ("0151 7", {"Jürgen Müller"}),  # the national format, spaces ignored
        ("+49 151-7", {"Jürgen Müller"}),
        ("0049151", {"Jürgen Müller", "José Ñúñez"}),
        ("0170", set()),
        ("", {"Jürgen Müller", "José Ñúñez", "Ann"}),
    ],
)
def test_search_ignores_accents_and_reads_national_numbers(agency, search: str, found: set[str]) -> None:
    from crewcall.people.selectors import employee_filter, employee_list, employee_page

    agency.employee("Jürgen Müller", phone_number="+4915171234567")
    agency.employee("José Ñúñez", phone_number="+4915122223333")
    agency.employee("Ann", phone_number="+4916099998888")
    for select in (employee_list, employee_filter, employee_page):
        assert {e.name for e in select(search=search)} == found, select.__name__
