"""`GET /api/v1/changes`: the change feed as Server-Sent Events (docs/changes.md).

Replay, then tail, without duplicates: a subscriber's cursor only moves forward, and
every change it sends lies after it, whether it came from the database (catching up) or
from the hub's memory (live). `id:` is the cursor; a client resumes with `Last-Event-ID`
(browsers send it on their own) or `?since=`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncGenerator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from crewcall.changes.cursor import Cursor, InvalidCursor
from crewcall.changes.hub import READ_BATCH, ChangeHub, get_hub, read_changes
from crewcall.changes.selectors import Change
from crewcall.core.token_auth import Credential, bearer_secret, user_for_token

# What the browser waits before reconnecting (ms), sent once per stream.
RECONNECT_MS = 2000


def _problem(status: int, code: str, detail: str, field: str | None = None) -> JsonResponse:
    body: dict[str, object] = {"type": "about:blank", "status": status, "code": code, "detail": detail}
    if field:
        body["errors"] = [{"field": field, "message": detail}]
    return JsonResponse(body, status=status, content_type="application/problem+json")


def _positive_int(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18 or int(raw) < 1:
        raise ValueError
    return int(raw)


@functools.lru_cache(maxsize=4096)
def _frame(change: Change) -> bytes:
    """One change as an SSE frame; cached, since every subscriber sends the same bytes."""
    data = json.dumps(change.payload(), separators=(",", ":"))
    return f"id: {change.cursor}\nevent: change\ndata: {data}\n\n".encode()


def _reset_frame(cursor: Cursor) -> bytes:
    data = json.dumps({"cursor": str(cursor)})
    return f"id: {cursor}\nevent: reset\ndata: {data}\n\n".encode()


def _heartbeat(cursor: Cursor) -> bytes:
    # An `id:` without data moves the browser's Last-Event-ID without an event, so a
    # filtered subscriber does not rescan what it skipped when it reconnects.
    return f": keep-alive\nid: {cursor}\n\n".encode()


async def follow(
    hub: ChangeHub,
    *,
    cursor: Cursor | None,
    event_id: int | None,
    employee_id: int | None,
    credential: Credential | None = None,
) -> AsyncGenerator[bytes, None]:
    """The stream's frames. With a `credential`, it ends once that no longer holds (the
    hub checks every few seconds): the client's reconnect then gets 401 or 403."""
    heartbeat_s = settings.CHANGES_HEARTBEAT_S
    ended = hub.watch(credential) if credential is not None else asyncio.Event()
    hub.subscribers += 1
    try:
        yield f"retry: {RECONNECT_MS}\n\n".encode()
        if cursor is None:
            while hub.head is None:  # the hub is starting: "now" is its first head
                await _wait(hub.changed, hub.poll_s)
            cursor = hub.head
            yield _heartbeat(cursor)
        beat = time.monotonic()
        while not ended.is_set():
            changed = hub.changed  # before looking (see ChangeHub.changed)
            in_memory = hub.after(cursor)
            if in_memory is None:
                batch = await read_changes(
                    cursor=cursor, event_id=event_id, employee_id=employee_id, limit=READ_BATCH
                )
                if batch.reset:
                    yield _reset_frame(batch.cursor)
                    beat = time.monotonic()
                for change in batch.changes:
                    yield _frame(change)
                if batch.changes:
                    beat = time.monotonic()
                moved = batch.cursor != cursor
                cursor = batch.cursor
                # Read on while cut at the limit, or while catching up (maybe in memory's
                # reach now); a cursor ahead of the hub waits for the hub instead of
                # re-reading the database in a loop.
                ahead = hub.head is not None and cursor.position > hub.head.position
                if batch.more or (moved and not ahead):
                    continue
            else:
                changes, cursor = in_memory
                sent = False
                for change in changes:
                    if change.in_scope(event_id=event_id, employee_id=employee_id):
                        yield _frame(change)
                        sent = True
                if sent:
                    beat = time.monotonic()
            # Nothing more to send now: wait for the window to move, waking at least every
            # poll interval, and say we are alive when the heartbeat is due.
            remaining = heartbeat_s - (time.monotonic() - beat)
            if remaining > 0:
                await _wait(changed, min(remaining, hub.poll_s))
            if time.monotonic() - beat >= heartbeat_s:
                yield _heartbeat(cursor)
                beat = time.monotonic()
    finally:
        hub.subscribers -= 1
        hub.unwatch(ended)


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    # asyncio.timeout, not wait_for: no extra task per wait, which with a thousand
    # streams woken by every change is a cost that shows.
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


def _give_back_connection() -> None:
    connection.close()  # looked up in the thread it runs in: the request's sync thread


async def _subscriber(request: HttpRequest) -> tuple[Any, Credential] | None:
    """The signed-in user, or the owner of the API token in `Authorization: Bearer` (as in
    the API, core/token_auth.py), and what they came with; None when neither."""
    secret = bearer_secret(request)
    if secret is not None:
        found = await sync_to_async(user_for_token)(secret)
        if found is None:
            return None
        user, token_id = found
        return user, Credential(user_id=user.pk, token_id=token_id)
    user = await request.auser()
    if not user.is_authenticated:
        return None
    return user, Credential(user_id=user.pk, session_key=request.session.session_key)


async def changes_stream(request: HttpRequest) -> HttpResponseBase:
    if request.method != "GET":
        return _problem(405, "method_not_allowed", "Only GET is allowed here.")
    subscriber = await _subscriber(request)
    # The session (or token) lookup took a connection in this request's thread, and Django
    # gives it back only when the response ends: for a stream, hours later. Give it back now
    # (the stream reads through the hub), or a few hundred subscribers would drain the pool.
    await sync_to_async(_give_back_connection)()
    if subscriber is None:
        return _problem(401, "not_authenticated", "Sign in, or send an API token, to follow changes.")
    user, credential = subscriber
    if not user.has_role("viewer"):
        return _problem(403, "forbidden", "Following changes needs the viewer role.")
    raw_cursor = request.headers.get("Last-Event-ID") or request.GET.get("since") or None
    try:
        cursor = Cursor.decode(raw_cursor) if raw_cursor else None
    except InvalidCursor:
        field = "Last-Event-ID" if request.headers.get("Last-Event-ID") else "since"
        return _problem(400, "invalid_cursor", "Not a cursor of this change feed.", field)
    try:
        event_id = _positive_int(request.GET.get("event"))
        employee_id = _positive_int(request.GET.get("employee"))
    except ValueError:
        field = "event" if request.GET.get("event") else "employee"
        return _problem(400, "invalid_filter", f"`{field}` must be a positive whole number.", field)
    hub = get_hub()
    response = StreamingHttpResponse(
        follow(hub, cursor=cursor, event_id=event_id, employee_id=employee_id, credential=credential),
        content_type="text/event-stream; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # proxies (nginx) must pass events on at once
    return response
