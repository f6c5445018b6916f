"""message_queue: one row and one job per intent, committed with the caller's change."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection, transaction

from crewcall.core.errors import ValidationFailed
from crewcall.messaging.models import OutboundMessage
from crewcall.messaging.outbox import message_queue

pytestmark = pytest.mark.django_db(transaction=True)


def send_jobs() -> list[tuple[int, dict[str, Any], str]]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, args, queueing_lock FROM procrastinate_jobs"
            " WHERE task_name = 'messaging.send_message' ORDER BY id"
        )
        # Django leaves jsonb as text.
        return [(pk, json.loads(args), lock) for pk, args, lock in cur.fetchall()]


def queue(employee: Any, key: str = "invite:1", **kw: Any) -> tuple[OutboundMessage, bool]:
    with transaction.atomic():
        return message_queue(
            employee=employee, kind="invitation", intent_key=key, body="Hi, are you in?", **kw
        )


def test_row_and_job_commit_together(agency: Any, settings: Any) -> None:
    settings.MESSAGING_PROVIDER = "simulator"
    emil = agency.employee()
    event = agency.event()
    message, created = queue(
        emil, event_id=event.pk, template_key="invitation", template_variables={"1": "Gala"}
    )
    assert created
    row = OutboundMessage.objects.get()
    assert (row.pk, row.status, row.to_number, row.provider) == (
        message.pk,
        "queued",
        emil.phone_number,
        "simulator",
    )
    assert row.event_id == event.pk and row.template_variables == {"1": "Gala"}
    [(_, args, lock)] = send_jobs()
    assert args == {"message_id": message.pk} and lock == f"message:{message.pk}"


def test_rollback_of_the_caller_leaves_neither_row_nor_job(agency: Any) -> None:
    emil = agency.employee()
    with pytest.raises(RuntimeError), transaction.atomic():
        message_queue(employee=emil, kind="invitation", intent_key="invite:1", body="Hi")
        assert send_jobs()  # visible inside the transaction…
        raise RuntimeError("the caller's change failed")
    assert not OutboundMessage.objects.exists()
    assert send_jobs() == []  # …and gone with it


def test_same_intent_twice_is_one_row_and_one_job(agency: Any) -> None:
    emil = agency.employee()
    first, created_first = queue(emil)
    second, created_second = queue(emil)
    with transaction.atomic():  # twice in one transaction, too
        message_queue(employee=emil, kind="invitation", intent_key="invite:1", body="Hi, are you in?")
        third, created_third = message_queue(
            employee=emil, kind="invitation", intent_key="invite:1", body="Hi, are you in?"
        )
    assert (created_first, created_second, created_third) == (True, False, False)
    assert first.pk == second.pk == third.pk
    assert OutboundMessage.objects.count() == 1
    assert len(send_jobs()) == 1


def test_concurrent_callers_with_one_intent_make_one_message(agency: Any) -> None:
    emil = agency.employee()
    barrier = threading.Barrier(4)
    results: list[bool] = []
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                _, created = message_queue(employee=emil, kind="invitation", intent_key="invite:9", body="Hi")
            results.append(created)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(results) == [False, False, False, True]
    assert OutboundMessage.objects.filter(intent_key="invite:9").count() == 1
    assert len(send_jobs()) == 1


def test_refuses_an_employee_without_phone(agency: Any) -> None:
    from crewcall.people.services import employee_anonymise

    emil = agency.employee()
    gone = employee_anonymise(actor=agency.actor, employee_id=emil.pk, expected_version=emil.version)
    with pytest.raises(ValidationFailed) as refused, transaction.atomic():
        message_queue(employee=gone, kind="invitation", intent_key="invite:1", body="Hi")
    assert "employee" in refused.value.errors
    assert not OutboundMessage.objects.exists() and send_jobs() == []


def test_refuses_bad_input(agency: Any) -> None:
    emil = agency.employee()
    with transaction.atomic():
        for field, (kind, key, body) in {
            "kind": ("spam", "k", "x"),
            "intent_key": ("nudge", "", "x"),
            "body": ("nudge", "k", "  "),
        }.items():
            with pytest.raises(ValidationFailed) as refused:
                message_queue(employee=emil, kind=kind, intent_key=key, body=body)
            assert field in refused.value.errors


def test_must_run_inside_the_callers_transaction(agency: Any) -> None:
    emil = agency.employee()
    with pytest.raises(AssertionError):
        message_queue(employee=emil, kind="invitation", intent_key="invite:1", body="Hi")
    assert not OutboundMessage.objects.exists()


def test_an_answer_is_sent_before_the_invitations_queued_ahead_of_it(agency: Any) -> None:
    """A worker takes the answer to someone who just wrote before the sends of an ask that
    were queued first (the job's priority); the invitations keep their order."""
    people = [agency.employee(name=f"P{i}") for i in range(4)]
    invitations = [queue(person, key=f"invite:{i}")[0] for i, person in enumerate(people)]
    with transaction.atomic():
        answer, _ = message_queue(
            employee=people[0], kind="confirmation", intent_key="reply:1", body="You are booked."
        )
    with connection.cursor() as cur:
        cur.execute("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
        (worker_id,) = cur.fetchone()
        taken = []
        for _ in range(len(people) + 1):
            cur.execute("SELECT args FROM procrastinate_fetch_job_v2(ARRAY['messages'], %s)", [worker_id])
            taken.append(json.loads(cur.fetchone()[0])["message_id"])
    assert taken == [answer.pk, *(m.pk for m in invitations)]
