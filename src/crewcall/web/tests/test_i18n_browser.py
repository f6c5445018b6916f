"""The language switch in Debian's Chromium: a dispatcher whose browser asks for English
picks Deutsch in the header; the dashboard and the live banner then speak German, and
English again after switching back. No console errors, failed requests or CSP violations."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from crewcall.testing.browser import browser, signed_in  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_switching_to_german_in_the_header(live_server: Any, browser: Browser, bob: Any) -> None:  # noqa: F811
    with signed_in(browser, live_server.url, bob) as watched:
        page = watched.open(f"{live_server.url}/")
        header = page.locator("header")
        expect(page.locator("h1")).to_have_text("Dashboard")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        status = page.locator("#live-status")
        # The stand-in stream (browser.py) opens, then ends: live.js says it reconnects.
        expect(status).to_have_attribute("data-state", "reconnecting")
        expect(status).to_have_text("reconnecting…")

        header.get_by_role("button", name="Deutsch").click()

        expect(page.locator("h1")).to_have_text("Übersicht")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        nav = page.get_by_role("navigation", name="Hauptmenü")
        expect(nav.get_by_role("link", name="Mitarbeiter")).to_be_visible()
        expect(nav.get_by_role("link", name="Veranstaltungen")).to_be_visible()
        expect(header.get_by_role("button", name="Deutsch")).to_have_attribute("aria-pressed", "true")
        expect(header.get_by_role("button", name="Abmelden")).to_be_visible()
        expect(page.locator("#dashboard-live")).to_contain_text("Aktive Mitarbeiter")
        expect(status).to_have_attribute("data-state", "reconnecting")
        expect(status).to_have_text("verbindet neu …")

        # The choice stays on the next page, and switching back works the same way.
        nav.get_by_role("link", name="Mitarbeiter").click()
        expect(page.locator("h1")).to_have_text("Mitarbeiter")
        page.locator("header").get_by_role("button", name="English").click()
        expect(page.locator("h1")).to_have_text("Employees")
        assert page.url == f"{live_server.url}/employees/"
        watched.assert_clean()
