"""An open change stream ends within seconds once what it was opened with no longer
holds: a revoked API token, a deactivated user, a session that was signed out. Streams of
others go on (the control)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from crewcall.accounts.models import ApiToken, User
from crewcall.accounts.services import token_revoke, user_update
from crewcall.events.services import event_update
from crewcall.testing.api import token_for
from crewcall.testing.sse import SSEClient, web_processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency, pytest.mark.feed]

PATH = "/api/v1/changes"
CHECK_S = 1.0
BOUND_S = 30.0  # a bound on waiting, not a timing assertion


def session_cookie(user: User) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def ends(stream: SSEClient) -> float:
    """Seconds until the stream ends. Changes may still arrive first (deactivating a user
    is a change of accounts_user itself); the stream must end within the bound."""
    began = time.monotonic()
    with pytest.raises(EOFError):
        while True:
            stream.next_event()
    return time.monotonic() - began


def still_delivers(stream: SSEClient, agency: Any, event: Any) -> None:
    event.refresh_from_db()
    event_update(
        actor=agency.actor, event_id=event.pk, expected_version=event.version, changes={"title": "Later"}
    )
    while (got := stream.next_event()).data["table"] != "events_event":
        pass  # other changes first (the deactivated user's row, say)
    assert got.data["id"] == event.pk


def test_a_revoked_tokens_stream_ends_and_others_go_on(tmp_path, agency: Any, alice: User, bob: User) -> None:
    event = agency.event()
    with web_processes(tmp_path, CREWCALL_CHANGES_CREDENTIAL_CHECK_S=str(CHECK_S)) as (web,):
        bobs = SSEClient(web.port, PATH, token=token_for(bob, "bob's script"), timeout=BOUND_S)
        alices = SSEClient(web.port, PATH, token=token_for(alice, "alice's script"), timeout=BOUND_S)
        assert bobs.status == alices.status == 200
        token_revoke(actor=alice, token_id=ApiToken.objects.get(user=bob).pk)
        took = ends(bobs)
        print(f"the revoked token's stream ended after {took:.1f} s")
        still_delivers(alices, agency, event)
        again = SSEClient(web.port, PATH, token="", timeout=BOUND_S)
        assert again.status == 401
        for stream in (bobs, alices, again):
            stream.close()


def test_a_deactivated_users_session_stream_ends(tmp_path, agency: Any, alice: User, bob: User) -> None:
    event = agency.event()
    _, bobs_cookie = session_cookie(bob)
    _, alices_cookie = session_cookie(alice)
    with web_processes(tmp_path, CREWCALL_CHANGES_CREDENTIAL_CHECK_S=str(CHECK_S)) as (web,):
        bobs = SSEClient(web.port, PATH, cookie=bobs_cookie, timeout=BOUND_S)
        alices = SSEClient(web.port, PATH, cookie=alices_cookie, timeout=BOUND_S)
        assert bobs.status == alices.status == 200
        bob.refresh_from_db()
        user_update(actor=alice, user_id=bob.pk, expected_version=bob.version, changes={"is_active": False})
        ends(bobs)
        still_delivers(alices, agency, event)
        reconnect = SSEClient(web.port, PATH, cookie=bobs_cookie, timeout=BOUND_S)
        assert reconnect.status == 401
        for stream in (bobs, alices, reconnect):
            stream.close()


def test_signing_out_ends_that_sessions_stream(tmp_path, alice: User) -> None:
    client, cookie = session_cookie(alice)
    with web_processes(tmp_path, CREWCALL_CHANGES_CREDENTIAL_CHECK_S=str(CHECK_S)) as (web,):
        stream = SSEClient(web.port, PATH, cookie=cookie, timeout=BOUND_S)
        assert stream.status == 200
        client.logout()  # deletes the session row
        ends(stream)
        stream.close()
