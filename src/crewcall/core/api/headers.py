"""The request headers the API reads outside ninja's parameters, as OpenAPI documents them."""

from __future__ import annotations

from typing import Any

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the first answer is replayed, nothing happens twice (kept 24 h).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}
IF_MATCH: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "The ETag of the version you read: 428 without it, 412 when it is stale.",
    # One strong tag: a weak one, `*` or a list is refused (422, core/api/versions.py).
    "schema": {"type": "string", "pattern": '^"[0-9]{1,10}"$'},
}
