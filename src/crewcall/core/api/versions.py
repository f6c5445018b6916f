"""ETag and If-Match: the version a client read, carried over HTTP (docs/api.md).

The ETag of a row is its version, `"<version>"` (strong: the version changes with every
byte of the representation that can change). Writes to an existing object need
`If-Match` with that tag: 428 without, 422 with anything but one strong tag of ours (a
weak `W/"3"`, `*`, a list), 412 with a stale one, answered together with the current
representation and its ETag so the client can decide.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from pydantic import BaseModel

from crewcall.core.api.problems import ApiProblem
from crewcall.core.errors import VersionConflict

T = TypeVar("T")
# Strong tags only: If-Match compares strongly (RFC 9110 13.1.1), a weak tag never matches.
_TAG = re.compile(r'^"(\d{1,10})"$')


def etag(version: int) -> str:
    return f'"{version}"'


def if_match(request: HttpRequest) -> int:
    """The version named by If-Match, or a 428/412 problem."""
    raw = request.headers.get("If-Match")
    if raw is None or not raw.strip():
        raise ApiProblem(
            428,
            "version_required",
            "Send If-Match with the ETag you read: changes must name the version they were made on.",
            errors={"header:If-Match": ["Required: the ETag of the version you read."]},
        )
    match = _TAG.match(raw.strip())
    if match is None:
        raise ApiProblem(
            422,
            "validation_failed",
            'If-Match must be one ETag as this API gives it, such as "3" (not weak, not * and not a list).',
            errors={"header:If-Match": ['One strong ETag such as "3".']},
        )
    return int(match.group(1))


def with_etag(response: HttpResponse, version: int) -> None:
    response["ETag"] = etag(version)


def versioned_write(request: HttpRequest, write: Callable[[int], T], current: Callable[[], Any]) -> T:
    """Run `write(expected_version)`; a stale version becomes 412 with the current
    representation and its ETag. `current()` gives the output schema instance (or None
    when the object is gone); it is encoded exactly as the API encodes a 200."""
    expected = if_match(request)
    try:
        return write(expected)
    except VersionConflict as exc:
        found = current()
        body = found.model_dump() if isinstance(found, BaseModel) else found
        headers = {"ETag": etag(exc.current)}
        raise ApiProblem(412, "version_conflict", exc.message, current=body, headers=headers) from None
