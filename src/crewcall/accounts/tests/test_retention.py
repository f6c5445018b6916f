"""Retention of sign-in data: expired sessions go (Django's clearsessions rule) and live
ones stay; sign-in log rows older than SIGNIN_LOG_KEEP_DAYS go; the lockout counters of
django-axes and the audit history are not touched."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from crewcall.accounts import retention, tasks
from crewcall.accounts.models import User
from crewcall.testing.history_counts import history_state
from crewcall.testing.sql import run

pytestmark = pytest.mark.django_db(transaction=True)

LOGIN = "/admin/login/"


def sign_in(username: str, password: str) -> Client:
    client = Client()
    client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return client


def age_sessions(keys: list[str], *, expired_days_ago: int) -> None:
    run(
        "UPDATE django_session SET expire_date = now() - make_interval(days => %s) WHERE session_key = ANY(%s)",
        [expired_days_ago, keys],
    )


def session_key(client: Client) -> str:
    return str(client.session.session_key)


def test_expired_sessions_go_and_live_ones_stay(alice: User, bob: User) -> None:
    expired = [session_key(sign_in("alice", "x")), session_key(sign_in("bob", "x"))]
    live = session_key(sign_in("bob", "x"))
    age_sessions(expired, expired_days_ago=1)
    history_before = history_state()

    assert retention.sessions_prune() == 2

    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
    assert history_state() == history_before


def test_a_session_batch_removes_at_most_its_size(bob: User) -> None:
    keys = [session_key(sign_in("bob", "x")) for _ in range(5)]
    age_sessions(keys, expired_days_ago=1)
    assert retention.sessions_prune_batch(batch_size=2) == 2
    assert retention.sessions_prune(batch_size=2, max_batches=1) == 2
    assert Session.objects.count() == 1
    assert retention.sessions_prune(batch_size=2) == 1
    assert not Session.objects.exists()


def test_old_sign_in_logs_go_young_ones_and_lockout_counters_stay(alice: User, bob: User) -> None:
    sign_in("alice", "x")
    sign_in("bob", "x")
    sign_in("bob", "wrong")  # a failure: counted by django-axes for the lockout
    assert AccessLog.objects.count() == 2 and AccessAttempt.objects.count() == 1
    old_log, young_log = AccessLog.objects.order_by("id").values_list("id", flat=True)
    run("UPDATE axes_accesslog SET attempt_time = now() - interval '100 days' WHERE id = %s", [old_log])
    failures = [
        AccessFailureLog.objects.create(
            username="bob",
            ip_address="127.0.0.1",
            user_agent="",
            http_accept="",
            path_info=LOGIN,
            locked_out=False,
        ).pk
        for _ in range(2)
    ]  # django-axes writes these only when AXES_ENABLE_ACCESS_FAILURE_LOG is on
    run(
        "UPDATE axes_accessfailurelog SET attempt_time = now() - interval '95 days' WHERE id = %s",
        [failures[0]],
    )
    now = timezone.now()
    history_before = history_state()

    assert retention.signin_logs_prune(older_than=now - timedelta(days=90)) == 2

    assert list(AccessLog.objects.values_list("id", flat=True)) == [young_log]
    assert list(AccessFailureLog.objects.values_list("id", flat=True)) == [failures[1]]
    assert AccessAttempt.objects.count() == 1  # django-axes' own to keep and expire
    assert history_state() == history_before


def test_a_sign_in_log_batch_removes_at_most_its_size(bob: User) -> None:
    for _ in range(5):
        sign_in("bob", "x")
    run("UPDATE axes_accesslog SET attempt_time = now() - interval '100 days'")
    cutoff = timezone.now() - timedelta(days=90)
    assert retention.signin_logs_prune_batch(table="axes_accesslog", older_than=cutoff, batch_size=2) == 2
    assert retention.signin_logs_prune(older_than=cutoff, batch_size=2, max_batches=1) == 2
    assert AccessLog.objects.count() == 1
    with pytest.raises(ValueError, match="not a sign-in log"):
        retention.signin_logs_prune_batch(table="accounts_user", older_than=cutoff)


def test_the_periodic_jobs_use_the_configured_window(bob: User, settings: Any) -> None:
    settings.SIGNIN_LOG_KEEP_DAYS = 10
    sign_in("bob", "x")
    sign_in("bob", "x")
    first, second = AccessLog.objects.order_by("id").values_list("id", flat=True)
    run("UPDATE axes_accesslog SET attempt_time = now() - interval '11 days' WHERE id = %s", [first])
    run("UPDATE axes_accesslog SET attempt_time = now() - interval '9 days' WHERE id = %s", [second])
    expired = session_key(sign_in("bob", "x"))
    age_sessions([expired], expired_days_ago=1)

    assert tasks.prune_signin_logs(timestamp=0) == 1
    assert tasks.prune_sessions(timestamp=0) == 1
    assert set(AccessLog.objects.values_list("id", flat=True)) == {second, AccessLog.objects.latest("id").pk}
    assert not Session.objects.filter(session_key=expired).exists()
