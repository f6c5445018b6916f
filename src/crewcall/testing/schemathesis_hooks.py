"""schemathesis's view of this API's contract (loaded by schemathesis.toml at the root).

One check of our own, `schema_valid_requests_fit`: a request the schema calls valid must
never be refused as not fitting the schema (400, or 422 `validation_failed`). Refusals by
the data's state or rules the schema cannot state (422 `invalid_value`, `unknown_cursor`,
`idempotency_key_reused`; 404, 409, 412) are what schemathesis.toml lets
`positive_data_acceptance` accept; this check keeps that allowance from hiding a schema
that says less than the server enforces.

One hook, `before_call`, for the stateful phase only: it gives each create there a value
of its own in the fields the data keeps unique (see `UNIQUE`). Hypothesis replays a
scenario's opening steps many times and expects the same step to answer the same way; a
create that answered 201 the first time and 409 (name taken) on the replay ends the phase
with "inconsistent data generation" after a few dozen scenarios, long before its links
are followed.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

import phonenumbers
import schemathesis

SCHEMA_LEVEL = {"validation_failed"}

_RUN = secrets.token_hex(2)
_SERIAL = itertools.count()


def _tag() -> str:
    """A string no earlier create of this run (or of another run, most likely) used."""
    return f"{_RUN}{next(_SERIAL):x}"


def _key(value: Any) -> Any:
    # ^[a-z][a-z0-9_]{0,39}$: at most 40 characters.
    return f"{value[:30]}_{_tag()}"[:40] if isinstance(value, str) and value else value


def _text(limit: int) -> Callable[[Any], Any]:
    def unique(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        tag = _tag()
        return f"{value[: limit - len(tag) - 1]} {tag}"

    return unique


def _phone(value: Any) -> Any:
    # A number the server refuses stays (refused the same way on every replay); a valid
    # one becomes another valid number no active employee has yet.
    try:
        valid = isinstance(value, str) and phonenumbers.is_valid_number(phonenumbers.parse(value, "DE"))
    except phonenumbers.NumberParseException:
        valid = False
    return f"+49151{secrets.randbelow(10**8):08d}" if valid else value


# (method, path) of a create -> the fields the data keeps unique, and how to vary them.
UNIQUE: dict[tuple[str, str], dict[str, Callable[[Any], Any]]] = {
    ("POST", "/api/v1/roles"): {"key": _key},
    ("POST", "/api/v1/skills"): {"key": _key},
    ("POST", "/api/v1/users"): {"username": _text(150)},
    ("POST", "/api/v1/events/{event_id}/work-areas"): {"name": _text(100)},
    ("POST", "/api/v1/employees"): {"phone_number": _phone},
}


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    meta = case.meta
    if meta is None or str(getattr(meta.phase, "name", "")) != "stateful":
        return
    fields = UNIQUE.get((case.method.upper(), case.operation.path))
    if fields is None or not isinstance(case.body, dict):
        return
    for name, vary in fields.items():
        if name in case.body:
            case.body[name] = vary(case.body[name])


def _headers_fit(case: Any) -> bool:
    sent = {name.lower(): value for name, value in (case.headers or {}).items()}
    for parameter in getattr(case.operation, "headers", ()):
        pattern = parameter.definition.get("schema", {}).get("pattern")
        value = sent.get(parameter.name.lower())
        if pattern and value is not None and not re.search(pattern, str(value)):
            return False
    return True


@schemathesis.check
def schema_valid_requests_fit(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    # The coverage phase's probes of methods and media types the operation does not have.
    if getattr(getattr(meta, "phase", None), "data", None) is not None:
        scenario = str(getattr(meta.phase.data, "scenario", ""))
        if "UNSPECIFIED_HTTP_METHOD" in scenario.upper() or "UNEXPECTED" in scenario.upper():
            return None
    if not _headers_fit(case):
        return None  # labelled positive, yet a header breaks its pattern (seen in coverage)
    if response.status_code == 400:
        raise AssertionError(f"A schema-valid request was refused as malformed (400): {response.text[:300]}")
    if response.status_code == 422:
        try:
            code = json.loads(response.content).get("code")
        except (ValueError, AttributeError):
            code = None
        if code in SCHEMA_LEVEL:
            raise AssertionError(
                "A schema-valid request was refused as not fitting the schema (422 validation_failed):"
                f" the schema says less than the server enforces. {response.text[:400]}"
            )
    return None
