"""Helpers every router uses to answer with one object (and its ETag) or a page."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse

from crewcall.core.api.versions import etag


def one(response: HttpResponse, obj: Any, *, location: str | None = None) -> Any:
    """Send `obj` (a versioned row) with its ETag; Location when it was just created."""
    response["ETag"] = etag(obj.version)
    if location:
        response["Location"] = location
    return obj
