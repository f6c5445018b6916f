"""One reader of the change feed per web process, shared by every subscriber.

The hub follows the feed from "now" on: it reads new changes when a NOTIFY hint arrives
on its one LISTEN connection, and at the latest every `CHANGES_POLL_S` seconds (so a lost
or disabled notification costs latency, never data). It keeps the most recent changes in
memory, contiguous: every change after `start` up to `head` is in `recent`. A subscriber
whose cursor lies in that window is served from memory; one further behind reads from the
database by itself until it reaches the window. So a subscriber holds no queue of its own,
and a slow one only falls back to reading the database: memory per subscriber is one
cursor and at most one batch in flight, whatever it does.

The hub also keeps each stream's credential (its API token or session) and checks them
all every `CHANGES_CREDENTIAL_CHECK_S` seconds in one go: a stream whose token was
revoked, whose session ended or whose user was deactivated is told to end.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone

from crewcall.changes.cursor import Cursor
from crewcall.changes.selectors import Change, changes_after, current_cursor
from crewcall.core.telemetry import CHANGE_LAG, CHANGE_SUBSCRIBERS
from crewcall.core.token_auth import Credential, live_credentials

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "crewcall_changes"
# Changes per database read (hub and catching-up subscribers alike).
READ_BATCH = 500
# After this many kept changes, the oldest half is dropped (a list, trimmed in halves, keeps
# the window sorted for bisect without shifting on every append).
RECENT_KEPT = 5000
LISTEN_RETRY_S = 2.0

P = ParamSpec("P")
R = TypeVar("R")


def _position(change: Change) -> tuple[int, int]:
    return change.cursor.position


def _in_executor(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`func` run in an executor thread, its connection given back when it returns
    (executor threads outlive the call)."""

    def closing(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()

    return sync_to_async(closing, thread_sensitive=False)


def _listen_params() -> dict[str, Any]:
    """The application's connection settings, for a plain psycopg connection."""
    params = dict(connection.get_connection_params())
    for sync_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(sync_only, None)
    return params


read_changes = _in_executor(changes_after)
read_current_cursor = _in_executor(current_cursor)
check_credentials = _in_executor(live_credentials)


class ChangeHub:
    def __init__(self, *, poll_s: float, kept: int = RECENT_KEPT) -> None:
        self.poll_s = poll_s
        self.kept = kept
        self.recent: list[Change] = []
        self.start: Cursor | None = None  # everything after start up to head is in `recent`
        self.head: Cursor | None = None
        self._subscribers = 0
        self.listening = False
        self.last_read_ok: float | None = None
        # time.monotonic() of the last successful read, for readiness (ops/health.py).
        self.last_read_at: float | None = None
        self._changed = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        # Each open stream's credential and the event that tells it to end.
        self._watched: dict[asyncio.Event, Credential] = {}

    @property
    def subscribers(self) -> int:
        return self._subscribers

    @subscribers.setter
    def subscribers(self, count: int) -> None:
        CHANGE_SUBSCRIBERS.inc(count - self._subscribers)  # the gauge adds up every process's
        self._subscribers = count

    # --- running ------------------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start the reader and the listener in the running loop (once per loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop and all(not t.done() for t in self._tasks):
            return
        self._loop = loop
        self._changed = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks = [
            loop.create_task(self._follow()),
            loop.create_task(self._listen()),
            loop.create_task(self._check_credentials()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    @property
    def changed(self) -> asyncio.Event:
        """Set when the window moves. Take it *before* looking at the window: a change
        published after the look sets the event taken, so no wake-up is lost."""
        return self._changed

    def _publish(self) -> None:
        moved, self._changed = self._changed, asyncio.Event()
        moved.set()

    async def _follow(self) -> None:
        while True:
            try:
                if self.head is None:
                    self.head = self.start = await read_current_cursor()
                    self._publish()
                await self._catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("change hub: reading the feed failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            self._wake.clear()

    async def _catch_up(self) -> None:
        while self.head is not None:
            batch = await read_changes(cursor=self.head, limit=READ_BATCH)
            self.last_read_ok = asyncio.get_running_loop().time()
            self.last_read_at = time.monotonic()
            if batch.changes:
                now = timezone.now()
                for change in batch.changes:
                    CHANGE_LAG.observe(max(0.0, (now - change.at).total_seconds()))
            if batch.reset:
                # The feed is another one (restored): what we hold belongs to the old one.
                self.recent, self.start, self.head = [], batch.cursor, batch.cursor
                self._publish()
                return
            if batch.changes or batch.cursor != self.head:
                self.recent.extend(batch.changes)
                if len(self.recent) > 2 * self.kept:
                    dropped = len(self.recent) - self.kept
                    self.start = self.recent[dropped - 1].cursor
                    del self.recent[:dropped]
                self.head = batch.cursor
                self._publish()
            if not batch.more:
                return

    async def _listen(self) -> None:
        """One LISTEN connection; each notification only wakes the reader."""
        while True:
            try:
                params = await sync_to_async(_listen_params, thread_sensitive=False)()
                conn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.listening = True
                    self._wake.set()  # anything missed while not listening
                    async for _ in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("change hub: LISTEN connection lost; polling until it is back", exc_info=True)
            finally:
                self.listening = False
            await asyncio.sleep(LISTEN_RETRY_S)

    async def _check_credentials(self) -> None:
        while True:
            await asyncio.sleep(settings.CHANGES_CREDENTIAL_CHECK_S)
            watched = dict(self._watched)
            if not watched:
                continue
            try:
                live = await check_credentials(list(set(watched.values())))
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database is away: streams go on (they read nothing new meanwhile).
                logger.warning("change hub: checking the streams' credentials failed", exc_info=True)
                continue
            for ended, credential in watched.items():
                if credential not in live:
                    ended.set()

    def watch(self, credential: Credential) -> asyncio.Event:
        """Keep checking `credential`; the event is set once it no longer holds."""
        ended = asyncio.Event()
        self._watched[ended] = credential
        return ended

    def unwatch(self, ended: asyncio.Event) -> None:
        self._watched.pop(ended, None)

    # --- serving subscribers ------------------------------------------------------------

    def after(self, cursor: Cursor) -> tuple[list[Change], Cursor] | None:
        """The changes after `cursor` from memory and the cursor to continue from, or None
        when memory does not reach back to it (or it is of another feed)."""
        start, head = self.start, self.head
        if start is None or head is None or cursor.epoch != head.epoch:
            return None
        if cursor.position < start.position:
            return None
        if cursor.position > head.position:
            # Ahead of what this process has read: a cursor another process handed out a
            # moment ago, or one from the future; only the database can tell which (the
            # latter gets `reset`).
            return None
        if cursor.position == head.position:
            return [], cursor
        first = bisect.bisect_right(self.recent, cursor.position, key=_position)
        return self.recent[first:], head


_hubs: dict[str, ChangeHub] = {}


def get_hub(factory: Callable[[], ChangeHub] | None = None) -> ChangeHub:
    """This process's hub, running in the current event loop."""
    hub = _hubs.get("default")
    if hub is None:
        hub = _hubs["default"] = (factory or (lambda: ChangeHub(poll_s=settings.CHANGES_POLL_S)))()
    hub.ensure_running()
    return hub


@dataclass(frozen=True)
class HubStatus:
    """What readiness and the KPI page may know of this process's hub."""

    stopped: bool  # its reader or listener task ended (they run until the process stops)
    poll_s: float
    last_read_at: float | None  # time.monotonic() of the last successful read
    listening: bool
    subscribers: int


def hub_status() -> HubStatus | None:
    """This process's hub, or None when it has not started (no subscriber yet)."""
    hub = _hubs.get("default")
    if hub is None or not hub._tasks:
        return None
    return HubStatus(
        stopped=any(task.done() for task in hub._tasks),
        poll_s=hub.poll_s,
        last_read_at=hub.last_read_at,
        listening=hub.listening,
        subscribers=hub.subscribers,
    )
