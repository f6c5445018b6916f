"""Idempotency-Key on API POSTs: replay, a different body, in flight, expiry."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from crewcall.conftest import Agency
from crewcall.core.models import IdempotencyKey
from crewcall.core.services import idempotency_keys_prune
from crewcall.people.models import Employee
from crewcall.testing.api import Api, token_for
from crewcall.testing.locks import row_locked_elsewhere

NEW = {
    "name": "Ida",
    "phone_number": "+4915112349999",
    "primary_role": "waiter",
    "employment_type": "part_time",
}


def test_a_retry_gets_the_first_answer_byte_for_byte_and_creates_nothing_twice(
    agency: Agency, bob: Any, api_as: Any
) -> None:
    api = api_as(bob)
    first = api.post("employees", NEW, **{"Idempotency-Key": "k-1"})
    again = api.post("employees", NEW, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["ETag"] == first["ETag"] and again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Employee.objects.filter(name="Ida").count() == 1


def test_the_same_key_with_a_different_body_is_refused(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    assert api.post("employees", NEW, **{"Idempotency-Key": "k-2"}).status_code == 201
    other = api.post("employees", {**NEW, "name": "Ines"}, **{"Idempotency-Key": "k-2"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.json()["errors"][0]["field"] == "header:Idempotency-Key"
    assert not Employee.objects.filter(name="Ines").exists()


def test_keys_belong_to_their_caller(agency: Agency, bob: Any, alice: Any, api_as: Any) -> None:
    assert api_as(bob).post("employees", NEW, **{"Idempotency-Key": "shared"}).status_code == 201
    other = api_as(alice).post(
        "employees", {**NEW, "phone_number": "+4915112349998"}, **{"Idempotency-Key": "shared"}
    )
    assert (
        other.status_code == 201
        and other.json()["id"] != Employee.objects.get(phone_number=NEW["phone_number"]).pk
    )


def test_an_error_answer_is_kept_too_and_a_bad_key_is_refused(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    bad = {**NEW, "phone_number": "nope"}
    first = api.post("employees", bad, **{"Idempotency-Key": "k-3"})
    assert first.status_code == 422
    assert api.post("employees", bad, **{"Idempotency-Key": "k-3"}).content == first.content
    refused = api.post("employees", NEW, **{"Idempotency-Key": "with space"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "header:Idempotency-Key"


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_a_request_still_in_flight_answers_409_and_its_result_is_replayed_after(
    agency: Agency, bob: Any
) -> None:
    token = token_for(bob)
    employee = agency.employee(name="Fred")
    answers: dict[str, Any] = {}
    headers = {"Idempotency-Key": "k-4", "If-Match": '"1"'}

    def archive() -> None:
        try:
            answers["first"] = Api(token=token).post(f"employees/{employee.pk}/archive", **headers)
        finally:
            connections.close_all()

    with row_locked_elsewhere(Employee, employee.pk):
        first = threading.Thread(target=archive)
        first.start()
        # The first request holds its claim and waits for the row lock.
        wait_for_claim("k-4")
        second = Api(token=token).post(f"employees/{employee.pk}/archive", **headers)
        assert second.status_code == 409
        assert second.json()["code"] == "idempotency_in_flight" and second["Retry-After"] == "1"
    first.join(timeout=30)
    assert answers["first"].status_code == 200
    replay = Api(token=token).post(f"employees/{employee.pk}/archive", **headers)
    assert replay.status_code == 200 and replay.content == answers["first"].content
    employee.refresh_from_db()
    assert employee.version == 2 and not employee.is_active


def wait_for_claim(key: str) -> None:
    import time

    deadline = time.monotonic() + 10
    while not IdempotencyKey.objects.filter(key=key).exists():
        assert time.monotonic() < deadline, "the first request never claimed its key"
        time.sleep(0.01)


def test_keys_are_kept_a_day_then_pruned_and_the_key_is_new_again(
    agency: Agency, bob: Any, api_as: Any
) -> None:
    api = api_as(bob)
    assert api.post("employees", NEW, **{"Idempotency-Key": "k-5"}).status_code == 201
    cutoff = timezone.now() - timedelta(hours=24)
    assert idempotency_keys_prune(older_than=cutoff) == 0  # a fresh key stays
    IdempotencyKey.objects.filter(key="k-5").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_keys_prune(older_than=cutoff) == 1
    again = api.post("employees", {**NEW, "phone_number": "+4915112349997"}, **{"Idempotency-Key": "k-5"})
    assert again.status_code == 201 and not again.has_header("Idempotent-Replayed")


def test_a_commit_marks_the_key_in_the_same_transaction(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    assert api.post("employees", NEW, **{"Idempotency-Key": "k-6"}).status_code == 201
    kept = IdempotencyKey.objects.get(key="k-6")
    assert kept.state == "done" and kept.status == 201
    # A key whose request committed but died before answering: a retry is told, not re-run.
    IdempotencyKey.objects.filter(pk=kept.pk).update(state="committed", status=None, body=None)
    retry = api.post("employees", NEW, **{"Idempotency-Key": "k-6"})
    assert retry.status_code == 409 and retry.json()["code"] == "idempotency_outcome_stored"
    assert Employee.objects.filter(name="Ida").count() == 1


def test_a_secret_shown_once_is_never_kept_for_a_replay(alice: Any, bob: Any, api_as: Any) -> None:
    api = api_as(alice)
    made = api.post("tokens", {"user_id": bob.pk, "name": "payroll"}, **{"Idempotency-Key": "k-7"})
    assert made.status_code == 201
    secret = made.json()["token"]
    kept = IdempotencyKey.objects.get(key="k-7")
    assert kept.body is None and kept.state == "committed"
    assert not IdempotencyKey.objects.filter(body__contains=secret.encode()).exists()
    retry = api.post("tokens", {"user_id": bob.pk, "name": "payroll"}, **{"Idempotency-Key": "k-7"})
    assert retry.status_code == 409 and secret.encode() not in retry.content


def test_a_claim_left_by_a_request_that_died_before_committing_is_taken_over(
    agency: Agency, bob: Any, api_as: Any
) -> None:
    api = api_as(bob)
    assert api.post("employees", {**NEW, "name": "x" * 500}, **{"Idempotency-Key": "k-8"}).status_code == 422
    # As if the first request had died before its commit, long ago.
    IdempotencyKey.objects.filter(key="k-8").update(
        state="in_flight", status=None, body=None, claimed_at=timezone.now() - timedelta(minutes=5)
    )
    retry = api.post("employees", {**NEW, "name": "x" * 500}, **{"Idempotency-Key": "k-8"})
    assert retry.status_code == 422 and not retry.has_header("Idempotent-Replayed")
    assert IdempotencyKey.objects.get(key="k-8").state == "done"
