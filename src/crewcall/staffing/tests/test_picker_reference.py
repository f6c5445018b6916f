"""The in-memory picker (used by the season simulation) picks exactly as the SQL picker:
same people, same order, same reasons, on random agencies that cross every rule's edge,
with the hours in the window counted as specified (work log) and with booked shifts too."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crewcall.staffing.picker import pick_candidates, reference
from crewcall.staffing.picker.query import COUNT_BOOKED_HOURS, load_candidates, load_situation, preview
from crewcall.staffing.picker.reasons import to_picks
from crewcall.staffing.picker.rules import Pick, fair_order
from crewcall.staffing.tests.test_picker_world import DAY, Builder, rolled_back, worlds

pytestmark = pytest.mark.django_db

TODAY = DAY - timedelta(days=12)


def sql_picks(event_id: int, count: int | None, count_booked: bool) -> list[Pick]:
    if count_booked == COUNT_BOOKED_HOURS:
        return pick_candidates(event_id=event_id, count=count, today=TODAY)
    situation, choices, wanted = preview(event_id=event_id, count=count, count_booked=count_booked)
    return to_picks(situation, choices, wanted, today=TODAY, with_booked=count_booked)


def agree(world: reference.World, counts: tuple[int | None, ...] = (None, 1, 3, 8)) -> None:
    for event_id in world.events:
        order = fair_order(event_id)
        loaded = load_situation(event_id)
        assert loaded.situation == reference.situation(world, event_id)
        for count_booked in (False, True):
            # Every eligible candidate with their figures, not only those picked: a rule
            # that errs without changing this world's picks is still caught.
            in_sql = sorted(load_candidates(loaded, limit=10**6, count_booked=count_booked), key=order)
            in_memory = reference.candidates(world, event_id, count_booked=count_booked)
            assert in_sql == sorted(in_memory, key=order), (event_id, count_booked)
            for count in counts:
                expected = reference.pick(
                    world, event_id=event_id, count=count, today=TODAY, count_booked=count_booked
                )
                assert sql_picks(event_id, count, count_booked) == expected, (event_id, count, count_booked)


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_sql_and_reference_pick_identically(data: st.DataObject) -> None:
    with rolled_back():
        agree(data.draw(worlds()).world)


def test_sql_and_reference_agree_on_the_edges_random_worlds_rarely_reach() -> None:
    """Night shifts into the next day, open ends, month and window edges, logged hours
    of an accepted event (counted once), caps met exactly."""
    b = Builder()
    b.limit("mini_job", "12.00", "180.00")
    night_owl, opener, logged, exact, fresh, border = (
        b.person(n, employment_type="mini_job")
        for n in ("Owl", "Opener", "Logged", "Exact", "Fresh", "Border")
    )
    night = b.event(DAY - timedelta(days=1), time(22), time(2), next_day=True)
    open_end = b.event(DAY - timedelta(days=1), time(20), None)
    early = b.event(DAY, time(1), time(6))  # overlaps the night shift, not the open end
    month_end = b.event(DAY + timedelta(days=17), time(18), time(23))  # 31 May
    june = b.event(DAY + timedelta(days=18), time(13), time(23))  # 1 June, 10 h
    first_of_may = b.event(DAY - timedelta(days=13), time(10), time(18))
    april = b.event(DAY - timedelta(days=14), time(10), time(20))  # 30 April
    window_edge = b.event(DAY - timedelta(days=90), time(10), time(12))
    b.invite(night, night_owl, "accepted")
    b.invite(open_end, opener, "accepted")
    b.invite(april, logged, "completed")
    b.log(april, logged, "10.00")
    b.invite(open_end, logged, "accepted")
    b.log(open_end, logged, "4.00")  # May: 4 h logged, not 4 h logged + 4 h planned
    b.invite(month_end, exact, "accepted")  # 5 h planned in May; 5 + 5 + 2 = 12 with `early`
    b.invite(window_edge, fresh, "completed")
    b.log(window_edge, fresh, "2.00")
    b.invite(june, fresh, "accepted")  # June's 10 h do not count in May
    b.invite(first_of_may, border, "completed")
    b.log(first_of_may, border, "8.00")  # 1 May's 8 h do: 8 + 5 > 12 for `early`
    agree(b.world, counts=(None, 2, 5))
    early_ids = {c.employee_id for c in reference.candidates(b.world, early)}
    assert night_owl not in early_ids and border not in early_ids
    assert {opener, fresh, exact, logged} <= early_ids


def test_booked_shifts_count_only_when_switched_on() -> None:
    b = Builder()
    booked, free = b.person("Booked"), b.person("Free")
    later = b.event(DAY + timedelta(days=3), time(10), time(18))  # after the event: still counts
    event = b.event(DAY)
    b.invite(later, booked, "accepted")
    _, as_specified, _ = preview(event_id=event, count=2, count_booked=False)
    _, with_booked, _ = preview(event_id=event, count=2, count_booked=True)
    hours = {c.candidate.employee_id: c.candidate.window_hours for c in with_booked}
    assert hours == {booked: 8, free: 0}
    assert [c.candidate.window_hours for c in as_specified] == [0, 0]
    assert with_booked[0].candidate.employee_id == free
