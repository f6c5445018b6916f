"""schemathesis's view of this API's contract (loaded by schemathesis.toml at the root).

One check of our own, `schema_valid_requests_fit`: a request the schema calls valid must
never be refused as not fitting the schema (400, or 422 `validation_failed`). Refusals by
the data's state or rules the schema cannot state (422 `invalid_value`, `unknown_cursor`,
`idempotency_key_reused`; 404, 409, 412) are what schemathesis.toml lets
`positive_data_acceptance` accept; this check keeps that allowance from hiding a schema
that says less than the server enforces.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis

SCHEMA_LEVEL = {"validation_failed"}


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
