"""The dashboard's charts, the messages log, a history page and the users page in Debian's
Chromium: no console errors, no failed requests, no CSP violations, at desktop and phone
width (no sideways scrolling of the page on a phone)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.testing.browser import browser, signed_in  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
]


def _data(agency: Any) -> Any:
    gala = agency.event("Gala", event_date=timezone.localdate() + dt.timedelta(days=2))
    emil = agency.employee("Emil")
    agency.accepted(gala, emil)
    message = OutboundMessage.objects.create(employee=emil, event=gala, kind="invitation", intent_key="b-1",
                                             to_number=emil.phone_number, body="Work?", provider="simulator")  # fmt: skip
    # attempts: a message gives up only after a counted attempt (the database holds it)
    gave_up = {"status": "failed", "attempts": 1, "error_message": "window closed"}
    OutboundMessage.objects.filter(pk=message.pk).update(**gave_up)
    InboundMessage.objects.create(provider_sid="IN-b-1", from_number=emil.phone_number, body="hm?",
                                  employee=emil, outcome="unparseable")  # fmt: skip
    return emil


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_dashboard_and_messages_are_clean(
    live_server: Any,
    browser: Browser,  # noqa: F811
    alice: Any,
    agency: Any,
    phone: bool,
) -> None:
    emil = _data(agency)
    with signed_in(browser, live_server.url, alice, phone=phone) as watched:
        page = watched.open(f"{live_server.url}/")
        fill = page.locator("svg.chart-fill")
        expect(fill).to_be_visible()
        expect(fill).to_have_attribute("aria-label", "Fill rate of the upcoming events (accepted of needed). "
                                       f"{(timezone.localdate() + dt.timedelta(days=2)):%d.%m.} Gala: 1 / 2 (50 %)")  # fmt: skip
        expect(page.locator("svg.chart-hours")).to_be_visible()
        expect(page.locator("#hours-chart .gini")).to_have_text("0.00")
        page.locator("#fill-chart summary").click()
        expect(page.locator("#fill-chart table")).to_contain_text("50 %")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        page = watched.open(f"{live_server.url}/messages/")
        expect(page.locator("table.messages-sent")).to_contain_text("window closed")
        expect(page.locator("table.messages-received tr.attention")).to_contain_text("hm?")
        page.select_option("#id_status", "delivered")  # htmx swaps the lists in
        expect(page.locator("#message-log")).to_contain_text("No messages match these filters.")
        assert "status=delivered" in page.url
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        page = watched.open(f"{live_server.url}/history/employee/{emil.pk}/")
        expect(page.locator("table.history")).to_contain_text("Created")
        expect(page.locator("table.history")).to_contain_text("Primary role")

        page = watched.open(f"{live_server.url}/users/")
        expect(page.locator("table.users")).to_contain_text("alice")
        page.fill("#id_username", "dora")
        page.select_option("#id_role", "viewer")
        page.locator("button", has_text="Create user").click()
        expect(page.locator("h1")).to_have_text("dora")
        page.fill("#id_name", "script")
        page.locator("button", has_text="Create token").click()
        expect(page.locator("#new-token-secret")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        watched.assert_clean()
