"""The service transaction: retried deadlocks, clean 'busy' answers, durable nesting."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from crewcall.core.errors import Busy
from crewcall.core.transactions import retry_stats, service
from crewcall.people.models import Employee
from crewcall.people.services import employee_update
from crewcall.testing.locks import row_locked_elsewhere

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def test_a_deadlock_is_retried_until_both_changes_land(agency) -> None:
    first, second = agency.employee(name="First"), agency.employee(name="Second")
    barrier = threading.Barrier(2)
    attempts: list[str] = []
    errors: list[BaseException] = []

    @service
    def touch_both(*, actor: object, order: list[int], tag: str) -> None:
        attempts.append(tag)
        Employee.objects.select_for_update().get(pk=order[0])
        if attempts.count(tag) == 1:  # only the first try meets the other thread
            barrier.wait(timeout=10)
        Employee.objects.select_for_update().get(pk=order[1])
        Employee.objects.filter(pk__in=order).update(notes=tag)

    def run(order: list[int], tag: str) -> None:
        try:
            touch_both(actor=agency.actor, order=order, tag=tag)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    before = retry_stats["retried"]
    threads = [
        threading.Thread(target=run, args=([first.pk, second.pk], "a")),
        threading.Thread(target=run, args=([second.pk, first.pk], "b")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert retry_stats["retried"] > before
    assert len(attempts) == 3  # one of the two ran twice
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.notes == second.notes  # the retried one wrote last, to both


def test_a_lock_held_too_long_gives_a_clean_busy_answer(agency) -> None:
    employee = agency.employee()
    with row_locked_elsewhere(Employee, employee.pk):
        with connection.cursor() as cur:
            cur.execute("SET lock_timeout = '200ms'")
        try:
            with pytest.raises(Busy):
                employee_update(
                    actor=agency.actor, employee_id=employee.pk, expected_version=1, changes={"notes": "x"}
                )
        finally:
            with connection.cursor() as cur:
                cur.execute("RESET lock_timeout")
    employee.refresh_from_db()
    assert employee.notes == "" and employee.version == 1


def test_services_cannot_be_nested_by_accident(agency) -> None:
    employee = agency.employee()
    with pytest.raises(RuntimeError), transaction.atomic():
        employee_update(
            actor=agency.actor, employee_id=employee.pk, expected_version=1, changes={"notes": "x"}
        )


def test_a_connection_lost_before_commit_is_retried(agency) -> None:
    employee = agency.employee()
    attempts: list[int] = []

    @service
    def note_after_a_crash(*, actor: object, employee_id: int) -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        attempts.append(pid)
        if len(attempts) == 1:
            # Another session kills ours mid-transaction, as a failover or restart would.
            other = connections.create_connection("default")
            try:
                with other.cursor() as cur:
                    cur.execute("SELECT pg_terminate_backend(%s)", [pid])
            finally:
                other.close()
        Employee.objects.filter(pk=employee_id).update(notes="written once")

    note_after_a_crash(actor=agency.actor, employee_id=employee.pk)
    assert len(attempts) == 2 and attempts[0] != attempts[1]
    employee.refresh_from_db()
    assert employee.notes == "written once" and employee.version == 2
