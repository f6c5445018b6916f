"""Calling the API in tests as a given caller: a token, a session, or nobody."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from crewcall.accounts.models import User


class Api:
    """A JSON client for /api/v1 acting with a bearer token (or a session, or anonymous)."""

    def __init__(self, *, token: str | None = None, user: User | None = None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.headers: dict[str, str] = {}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if user is not None:
            self.client.force_login(user)

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None, **headers: str) -> Any:
        url = path if path.startswith("/") else f"/api/v1/{path}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        extra = {**self.headers, **headers}
        kwargs: dict[str, Any] = {"headers": extra}
        if data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method.lower())(url, **kwargs)

    def get(self, path: str, **headers: str) -> Any:
        return self.call("GET", path, None, None, **headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.call("POST", path, body, None, **headers)

    def patch(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.call("PATCH", path, body, None, **headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self.call("DELETE", path, None, None, **headers)


def token_for(user: User, name: str = "test") -> str:
    from crewcall.accounts.services import token_create

    return token_create(actor=None, user_id=user.pk, name=name).secret


def error_fields(response: Any) -> set[str]:
    """The fields a problem response names in its `errors`."""
    return {e["field"] for e in response.json().get("errors", [])}
