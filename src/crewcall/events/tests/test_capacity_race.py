"""Concurrent placements never overfill a work area — and the control shows they would
without the row lock in the database's assignment guard."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from crewcall.core.errors import RuleViolation
from crewcall.staffing.models import Assignment
from crewcall.staffing.placement import assignment_create
from crewcall.testing.barrier import Barrier, database_barrier, trigger_without_lock

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

THREADS = 6
CAPACITY = 2
LOCK_LINE = "FROM events_workarea WHERE id = NEW.work_area_id FOR UPDATE;"


BARRIER_KEY = 7301


def place_everyone_at_once(agency, barrier: Barrier | None = None) -> tuple[int, list[BaseException]]:
    event = agency.event(employees_needed=THREADS, employees_to_ask=THREADS)
    area = agency.area(event, capacity=CAPACITY)
    invitations = [agency.accepted(event, agency.employee(name=f"P{i}")) for i in range(THREADS)]
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def place(invitation_id: int) -> None:
        try:
            start.wait(timeout=10)
            assignment_create(
                actor=agency.actor,
                invitation_id=invitation_id,
                work_area_id=area.pk,
                role_id=agency.bartender.pk,
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=place, args=(inv.pk,)) for inv in invitations]
    for t in threads:
        t.start()
    try:
        if barrier is not None:
            barrier.release_when_waiting(THREADS)
    finally:
        if barrier is not None:
            barrier.release()  # never leave threads stuck behind a failed wait
        for t in threads:
            t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return Assignment.objects.filter(work_area=area).count(), errors


def test_concurrent_placements_never_exceed_capacity(agency) -> None:
    placed, errors = place_everyone_at_once(agency)
    assert placed == CAPACITY
    assert len(errors) == THREADS - CAPACITY
    assert all(isinstance(e, RuleViolation) and "work_area" in e.errors for e in errors), errors


def test_control_without_the_lock_the_race_overfills_the_area(agency) -> None:
    with (
        trigger_without_lock("events_assignment_guard", lock_line=LOCK_LINE, barrier_key=BARRIER_KEY),
        database_barrier(BARRIER_KEY) as barrier,
    ):
        placed, errors = place_everyone_at_once(agency, barrier)
    assert placed == THREADS, [str(e) for e in errors]
