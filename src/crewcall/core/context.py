"""Who is acting and through which door: the request context of every change.

Entry points set it (web middleware, API, webhooks, the worker, CLI commands); services
copy it onto every history row they cause, with the acting user. A running service also
binds its actor (`bind_actor`), so the JSON log lines written inside name it (ops/logs.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import Any, Literal

Source = Literal["web", "api", "webhook", "worker", "cli", "system", "repair"]
SOURCES: tuple[str, ...] = ("web", "api", "webhook", "worker", "cli", "system", "repair")


@dataclass(frozen=True)
class RequestContext:
    source: Source
    request_id: str
    # The API token the caller authenticated with (recorded on every history row it causes).
    token_id: int | None = None


_current: ContextVar[RequestContext | None] = ContextVar("crewcall_request_context", default=None)

Actor = tuple[Any, str | None]  # (id, username)

_actor: ContextVar[Actor | None] = ContextVar("crewcall_log_actor", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_context() -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        return RequestContext(source="system", request_id=new_request_id())
    return ctx


@contextmanager
def request_context(*, source: Source, request_id: str | None = None) -> Iterator[RequestContext]:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    ctx = RequestContext(source=source, request_id=request_id or new_request_id())
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def note_api_token(token_id: int) -> None:
    """The request in progress authenticated with this API token."""
    ctx = _current.get()
    if ctx is not None:
        _current.set(replace(ctx, token_id=token_id))


def bind_actor(actor: Any) -> Token[Actor | None] | None:
    """Name `actor` as the one acting until `unbind_actor` (None: nothing to bind)."""
    if actor is None or getattr(actor, "pk", None) is None:
        return None
    return _actor.set((actor.pk, getattr(actor, "username", None)))


def unbind_actor(token: Token[Actor | None] | None) -> None:
    if token is not None:
        _actor.reset(token)


def bound_actor() -> Actor | None:
    """The actor a running service bound, or None."""
    return _actor.get()
