"""Playwright with Debian's Chromium, for tests that need a real browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, ViewportSize, sync_playwright

CHROMIUM = Path(os.environ.get("CREWCALL_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)"
        )
    # Playwright's sync API runs an event loop in this thread; the test's own database
    # calls stay synchronous and are safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


PHONE: ViewportSize = {"width": 375, "height": 740}
# Reports every CSP violation the page sees (Chromium also logs each as a console error).
WATCH_CSP = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));"
)


class Watched:
    """A page whose console errors, uncaught exceptions, failed requests, HTTP errors and
    CSP violations are recorded; `assert_clean()` says there were none."""

    def __init__(self, context: BrowserContext) -> None:
        self.problems: list[str] = []
        self.page: Page = context.new_page()
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("requestfailed", self._failed)
        self.page.on(
            "response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        self.page.add_init_script(WATCH_CSP)

    def _failed(self, request: Request) -> None:
        # A request cut short by the next navigation (the icon, often) is no fault; a
        # blocked one fails with ERR_BLOCKED_BY_CSP or the like.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed {request.url} {request.failure}")

    def open(self, url: str) -> Page:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        return self.page

    def assert_clean(self) -> None:
        assert self.page.evaluate("window.__csp") == []
        assert self.problems == [], self.problems


def stand_in_stream(route: Route) -> None:
    """pytest-django's live server (WSGI, threads) cannot serve the endless async change
    stream (uvicorn does, test_live_browser.py); the browser gets a stream with nothing
    yet, so live.js starts as usual without holding a server thread."""
    route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body="retry: 600000\n\n")


def sign_in_as(context: BrowserContext, user: Any, url: str) -> None:
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session,
                          "domain": urlsplit(url).hostname, "path": "/"}])  # fmt: skip


@contextmanager
def signed_in(browser: Browser, url: str, user: Any, *, phone: bool = False) -> Iterator[Watched]:
    """A watched page of a fresh browser context signed in as `user` on the server at `url`."""
    options: dict[str, Any] = {"viewport": PHONE, "is_mobile": True, "has_touch": True} if phone else {}
    context = browser.new_context(**options)
    context.route("**/api/v1/changes*", stand_in_stream)
    sign_in_as(context, user, url)
    try:
        yield Watched(context)
    finally:
        context.close()
