"""The live page in a real browser (Debian's Chromium): the dashboard follows the change
stream, shows whether it is live, and after the server was down and back, shows the
change made while it was down — nothing missed."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import Browser, expect

from crewcall.events.models import Event
from crewcall.events.services import event_update
from crewcall.testing.browser import browser  # noqa: F401 - the fixture
from crewcall.testing.sse import web_processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.feed]

# Generous: under `pytest -n` another worker's long transaction can hold the feed back.
WAIT_MS = 120_000


def rename(agency, event: Event, title: str) -> None:
    event.refresh_from_db()
    event_update(
        actor=agency.actor, event_id=event.pk, expected_version=event.version, changes={"title": title}
    )


def test_the_dashboard_follows_changes_and_survives_a_server_restart(
    tmp_path,
    browser: Browser,  # noqa: F811 - the fixture imported above
    client,
    alice,
    agency,
) -> None:
    event = agency.event(title="Sommerfest")
    client.force_login(alice)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with web_processes(tmp_path) as (web,):
        context = browser.new_context()
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "domain": "127.0.0.1", "path": "/"}]
        )
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"http://127.0.0.1:{web.port}/")
        status = page.locator("#live-status")
        expect(status).to_have_attribute("data-state", "live", timeout=WAIT_MS)
        expect(page.locator("#dashboard-live")).to_contain_text("Sommerfest")

        rename(agency, event, "Sommerfest am See")  # another user, elsewhere
        expect(page.locator("#dashboard-live")).to_contain_text("Sommerfest am See", timeout=WAIT_MS)
        assert problems == []  # no console errors while all is well

        web.stop()
        expect(status).to_have_attribute("data-state", "reconnecting", timeout=WAIT_MS)
        rename(agency, event, "Sommerfest (verlegt)")  # while the server is down
        web.start()
        expect(status).to_have_attribute("data-state", "live", timeout=WAIT_MS)
        expect(status).to_have_text("live again")
        expect(page.locator("#dashboard-live")).to_contain_text("Sommerfest (verlegt)", timeout=WAIT_MS)
        context.close()
