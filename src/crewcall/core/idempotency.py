"""`Idempotency-Key` on every API POST (docs/api.md).

A key belongs to one authenticated caller (a live token of an active user, or a
signed-in user): for anyone else nothing is claimed or replayed, and the API answers 401.
It moves through three states:

- `in_flight`: claimed (INSERT … ON CONFLICT DO NOTHING, its own tiny transaction)
  before the handler runs. A second request with the key gets 409.
- `committed`: set *inside* the transaction of the write the request makes (the
  `@service` wrapper calls `mark_committed`), so the write and the mark commit or vanish
  together. A process that dies after the commit leaves `committed` without an answer:
  a retry gets 409 saying the change is stored, never a second write.
- `done`: the answer (status, headers that matter, body bytes) is stored; a retry with
  the same body gets it back byte for byte, with a different body 422.

A claim still `in_flight` after LEASE_S belongs to a request that died before
committing: the next retry takes it over with a new claim id. Should the old request
still be alive, its `mark_committed` finds the claim gone and rolls back its write.
Answers of 5xx and 429 are not kept (the key is released; retrying is the point; after
a commit the key stays `committed`, so a retry is told the change is stored instead of
being replayed an error), nor answers marked `Cache-Control: no-store` (a secret shown
once).

A database that goes away after the commit (core/unavailable.py) cannot take the answer:
the client still gets it (the change is stored) and the key stays `committed`, so a
retry gets 409 `idempotency_outcome_stored`, never a second write. Gone before the
commit, the claim cannot be released either: it stays `in_flight` until its lease ends
and a retry takes it over.
Keys live CREWCALL_IDEMPOTENCY_HOURS (≥ 24) and are pruned by a periodic job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse

from crewcall.core.api.problems import ApiProblem, problem_response
from crewcall.core.errors import CrewcallError
from crewcall.core.token_auth import bearer_secret, token_of_request
from crewcall.core.unavailable import unavailable_code

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
LEASE_S = 120
# Headers replayed with the stored body (the rest are the server's own, set anew).
KEPT_HEADERS = ("Content-Type", "ETag", "Location")
NOT_KEPT = {429}


class ClaimLost(CrewcallError):
    code = "idempotency_claim_lost"
    status = 409


@dataclass
class Claim:
    id: int
    claim: str
    committed: bool = field(default=False)


_claim: ContextVar[Claim | None] = ContextVar("crewcall_idempotency_claim", default=None)


def mark_committed() -> None:
    """Inside a service's transaction: tie the request's key to this write (once)."""
    claim = _claim.get()
    if claim is None or claim.committed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_idempotencykey SET state = 'committed' "
            "WHERE id = %s AND claim = %s AND state = 'in_flight'",
            [claim.id, claim.claim],
        )
        if cursor.rowcount != 1:
            raise ClaimLost("This request took too long and a retry took its place; nothing was written.")
    # Only a commit makes it so: a transaction retried by @service marks again.
    transaction.on_commit(lambda: setattr(claim, "committed", True))


def _scope(request: HttpRequest) -> str | None:
    """The caller a key belongs to, or None for a caller who is not authenticated (no
    key is claimed for them: nothing is stored, nothing replayed). A revoked token, or a
    deactivated user's, is nobody: its earlier answers are not replayed either."""
    secret = bearer_secret(request)
    if secret is not None:
        if token_of_request(request) is None:
            return None
        return "token:" + hashlib.sha256(secret.encode()).hexdigest()[:40]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _claim_or_existing(
    scope: str, key: str, request: HttpRequest, fingerprint: str
) -> tuple[Claim | None, tuple[Any, ...]]:
    token = secrets.token_hex(16)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_idempotencykey (scope, key, claim, fingerprint, method, path, state, headers) "
            "VALUES (%s, %s, %s, %s, %s, %s, 'in_flight', '{}') "
            "ON CONFLICT (scope, key) DO NOTHING RETURNING id",
            [scope, key, token, fingerprint, request.method, request.path[:2000]],
        )
        row = cursor.fetchone()
        if row is not None:
            return Claim(id=row[0], claim=token), ()
        cursor.execute(
            "SELECT id, claim, fingerprint, state, status, headers, body, "
            "claimed_at < now() - make_interval(secs => %s) "
            "FROM core_idempotencykey WHERE scope = %s AND key = %s",
            [LEASE_S, scope, key],
        )
        existing = cursor.fetchone()
        if existing is None:  # pruned in between: claim afresh
            return _claim_or_existing(scope, key, request, fingerprint)
        return None, existing


def _take_over(row_id: int, old_claim: str) -> Claim | None:
    token = secrets.token_hex(16)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_idempotencykey SET claim = %s, claimed_at = now() "
            "WHERE id = %s AND claim = %s AND state = 'in_flight'",
            [token, row_id, old_claim],
        )
        return Claim(id=row_id, claim=token) if cursor.rowcount == 1 else None


def _replay(status: int, stored_headers: str | dict[str, str], body: bytes) -> HttpResponse:
    # Django's driver setup hands jsonb over as text (JSONField parses it itself).
    headers = json.loads(stored_headers) if isinstance(stored_headers, str) else stored_headers
    response = HttpResponse(bytes(body), status=status, content_type=headers.get("Content-Type"))
    for name, value in headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def _store(claim: Claim, response: HttpResponse) -> None:
    with connection.cursor() as cursor:
        failed = response.status_code >= 500 or response.status_code in NOT_KEPT
        if failed:
            if not claim.committed:
                cursor.execute(
                    "DELETE FROM core_idempotencykey WHERE id = %s AND claim = %s", [claim.id, claim.claim]
                )
            # Committed, then failed (the database went away while answering): the key
            # stays `committed`, a retry hears the change is stored.
            return
        if "no-store" in response.get("Cache-Control", ""):
            # A secret shown once (a new API token) is never kept: a retry is told the
            # change happened (409 idempotency_outcome_stored) instead of seeing it again.
            cursor.execute(
                "UPDATE core_idempotencykey SET state = 'committed' WHERE id = %s AND claim = %s",
                [claim.id, claim.claim],
            )
            return
        headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
        cursor.execute(
            "UPDATE core_idempotencykey SET state = 'done', status = %s, headers = %s::jsonb, body = %s "
            "WHERE id = %s AND claim = %s",
            [response.status_code, json.dumps(headers), response.content, claim.id, claim.claim],
        )


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not request.path.startswith(settings.API_PREFIX):
            return self.get_response(request)
        if not _VALID_KEY.match(key):
            return problem_response(
                request,
                ApiProblem(
                    422,
                    "validation_failed",
                    "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
                    errors={f"header:{HEADER}": ["1 to 255 visible ASCII characters."]},
                ),
            )
        scope = _scope(request)
        if scope is None:  # not signed in: the API answers 401, nothing to remember
            return self.get_response(request)
        fingerprint = _fingerprint(request)
        claim, existing = _claim_or_existing(scope, key, request, fingerprint)
        if claim is None:
            row_id, old_claim, stored_fingerprint, state, status, headers, body, expired = existing
            if stored_fingerprint != fingerprint:
                return problem_response(
                    request,
                    ApiProblem(
                        422,
                        "idempotency_key_reused",
                        "This Idempotency-Key was used for a different request; use a new key.",
                        errors={f"header:{HEADER}": ["Used before with a different request."]},
                    ),
                )
            if state == "done":
                return _replay(status, headers, body)
            if state == "in_flight" and expired:
                claim = _take_over(row_id, old_claim)
            if claim is None:
                detail = (
                    "The first request with this key changed the data, but its answer was lost; "
                    "read the resource to see the result."
                    if state == "committed"
                    else "A request with this Idempotency-Key is still being processed; retry shortly."
                )
                code = "idempotency_outcome_stored" if state == "committed" else "idempotency_in_flight"
                return problem_response(request, ApiProblem(409, code, detail, headers={"Retry-After": "1"}))
        token = _claim.set(claim)
        try:
            response = self.get_response(request)
        finally:
            _claim.reset(token)
        try:
            _store(claim, response)
        except DatabaseError as exc:
            if unavailable_code(exc) is None:
                raise
            # The answer is true (a committed change stays committed); only its replay is lost.
            logger.warning(
                "Idempotency-Key answer not stored (%s, %s): %s",
                "committed" if claim.committed else "not committed",
                response.status_code,
                exc,
            )
        return response
