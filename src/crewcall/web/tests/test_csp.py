"""The Content-Security-Policy: on every page, strict, with a fresh nonce per request that
every inline-capable tag of the page carries, and nothing inline without it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from crewcall.accounts.models import User

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in parts}


class Tags(HTMLParser):
    """Every <script>, <style> and stylesheet link, and any attribute that would be inline
    style or behaviour."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.styles: list[dict[str, str | None]] = []
        self.inline_attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
        elif tag == "style":
            self.styles.append(named)
        for name, _ in attrs:
            if name == "style" or name.startswith("on") or name.startswith("hx-on"):
                self.inline_attributes.append(f"<{tag} {name}>")


def page(client: Client, path: str) -> tuple[dict[str, str], Tags]:
    response = client.get(path)
    assert response.status_code == 200, path
    tags = Tags()
    tags.feed(response.content.decode())
    return directives(response["Content-Security-Policy"]), tags


@pytest.mark.parametrize("path", ["/", "/simulator/", "/simulator/{employee}/", "/login/"])
def test_pages_carry_the_strict_policy_and_their_nonce(
    client: Client, alice: User, agency, path: str
) -> None:
    employee = agency.employee("Emil")
    if path != "/login/":
        client.force_login(alice)
    policy, tags = page(client, path.format(employee=employee.pk))

    for name, value in POLICY.items():
        assert policy[name] == value, name
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9+/=]{22,})'", policy["script-src"])
    assert nonce, policy["script-src"]
    assert policy["style-src"] == policy["script-src"]  # the same nonce for both
    assert "unsafe-inline" not in str(policy) and "unsafe-eval" not in str(policy)

    assert tags.scripts, "the layout loads htmx and live.js"
    for script in tags.scripts:
        # Either a file from this site, or inline JSON that never runs; htmx's carries the nonce.
        assert (script.get("src") or "").startswith("/static/") or script.get("type") == "application/json"
        if "django_htmx" in (script.get("src") or ""):
            assert script["nonce"] == nonce.group(1)
    for style in tags.styles:
        assert style.get("nonce") == nonce.group(1)
    assert tags.inline_attributes == []


def test_each_request_gets_a_new_nonce(client: Client, bob: User) -> None:
    client.force_login(bob)
    first, _ = page(client, "/")
    second, _ = page(client, "/")
    assert first["script-src"] != second["script-src"]


def test_the_layout_has_no_inline_style_left(client: Client, bob: User) -> None:
    client.force_login(bob)
    body = client.get("/").content.decode()
    assert "<style" not in body and 'style="' not in body
    assert '<link rel="stylesheet" href="/static/crewcall/app.css">' in body
    css = b"".join(client.get("/static/crewcall/app.css").streaming_content)  # type: ignore[attr-defined]
    assert b":focus-visible" in css and b".skip-link" in css


def test_the_json_api_and_its_docs_still_answer(client: Client, bob: User) -> None:
    client.force_login(bob)
    response = client.get("/api/v1/events")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert response.json()["items"] == []
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    policy = directives(docs["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"  # no nonce needed: nothing inline runs there
    tags = Tags()
    tags.feed(docs.content.decode())
    assert all(s.get("src") or s.get("type") == "application/json" for s in tags.scripts)
