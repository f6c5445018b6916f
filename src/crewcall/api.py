"""`/api/v1`: one NinjaAPI, a router per domain app (docs/api.md).

Every operation: strict input, problem+json errors (documented in the schema with
their own media type), a role (`allow`), the caller's rate limit, ETag/If-Match on
single objects, Idempotency-Key on POST (IdempotencyMiddleware).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from ninja import NinjaAPI

from crewcall.core.api import problems
from crewcall.core.api.auth import allow
from crewcall.core.api.headers import IDEMPOTENCY_KEY, IF_MATCH
from crewcall.core.api.links import add_links
from crewcall.core.api.throttle import CallerThrottle, TokenBucket

PROBLEM_MEDIA_TYPE = "application/problem+json"

bucket = TokenBucket(per_minute=settings.API_RATE_PER_MINUTE, burst=settings.API_RATE_BURST)


ETAG = {"ETag": {"description": "The version of this object", "schema": {"type": "string"}}}


def _is_single_object(content: Any) -> bool:
    ref = (content or {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    return bool(ref) and not ref.rsplit("/", 1)[-1].startswith("Page")


class CrewcallAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        """ninja's schema, completed: problems under their own media type, the headers the
        middleware and the version checks read, and the ETag a single object carries."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                responses = operation.get("responses", {})
                for status, answer in responses.items():
                    content = answer.get("content")
                    if int(status) >= 400 and content and "application/json" in content:
                        answer["content"] = {PROBLEM_MEDIA_TYPE: content.pop("application/json")}
                    elif int(status) in (200, 201) and _is_single_object(content):
                        answer["headers"] = dict(ETAG)
                parameters = operation.setdefault("parameters", [])
                named = {p.get("name") for p in parameters}
                if method == "post":
                    parameters.append(dict(IDEMPOTENCY_KEY))
                if (428 in responses or "428" in responses) and "If-Match" not in named:
                    parameters.append(dict(IF_MATCH))
        add_links(schema)
        return schema


api = CrewcallAPI(
    title="Crewcall API",
    version="1",
    description=(
        "Event staffing: employees, events, fair asking, placements, hours. "
        "Errors are RFC 9457 problem+json with a stable `code`; single objects carry an ETag "
        "that writes must send back as If-Match; every POST takes an Idempotency-Key."
    ),
    urls_namespace="api",
    auth=allow("viewer"),
    throttle=[CallerThrottle(bucket)],
)
problems.install(api)


def _add_routers() -> None:
    from crewcall.accounts.api import router as accounts
    from crewcall.events.api import router as events
    from crewcall.messaging.api import router as messaging
    from crewcall.ops.api import router as ops
    from crewcall.people.api import router as people
    from crewcall.staffing.api import router as staffing
    from crewcall.web.api import router as history

    for router in (people, events, staffing, messaging, accounts, history, ops):
        api.add_router("", router)


_add_routers()
