"""The event pages in a real browser (Debian's Chromium): a dispatcher makes an event
from a template and finds it in the list, with no console error on the way, and the
list is readable on a 375 px wide phone."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from crewcall.events.models import Event
from crewcall.events.services import event_create
from crewcall.testing.browser import browser, signed_in  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_create_an_event_from_a_template_and_see_it_in_the_list(
    browser: Browser,  # noqa: F811
    bob,
    agency,
    live_server,
) -> None:
    tpl = event_create(
        actor=bob, title="Firmenfeier", start_time=time(18), end_time=time(23),
        hourly_rate=Decimal("16.00"), employees_needed=3, is_template=True,
    )  # fmt: skip
    agency.area(tpl, "Bar", 2)
    day = timezone.localdate() + timedelta(days=9)
    with signed_in(browser, live_server.url, bob) as watched:
        follow_a_template_to_the_list(watched.page, live_server.url, tpl, day)
        watched.assert_clean()


def follow_a_template_to_the_list(page: Page, url: str, tpl: Event, day: date) -> None:
    page.goto(f"{url}/events/templates/")
    page.get_by_role("link", name="New event").click()
    expect(page.get_by_role("combobox", name="Template")).to_have_value(str(tpl.pk))
    page.locator("#from-template-form").get_by_label("Date").fill(day.isoformat())
    page.locator("#from-template-form").get_by_label("Title").fill("Firmenfeier Nord")
    page.get_by_role("button", name="Create from template").click()

    expect(page.locator("h1")).to_contain_text("Firmenfeier Nord")
    expect(page.locator("table.areas-table")).to_contain_text("Bar")
    event = Event.objects.get(title="Firmenfeier Nord")
    assert event.template_id == tpl.pk and event.event_date == day

    page.get_by_role("link", name="Events", exact=True).first.click()
    page.wait_for_load_state()  # htmx has taken over the filter form
    row = page.locator(f'tr[data-event="{event.pk}"]')
    expect(row).to_contain_text("Firmenfeier Nord")
    expect(row).to_contain_text("Draft")
    # The filter refreshes the list in place (htmx) and puts the filter in the address.
    page.get_by_role("combobox", name="Status").select_option("recruiting")
    expect(page).to_have_url(re.compile(r"/events/\?status=recruiting&"))
    expect(page.locator("#events-live")).to_contain_text("No upcoming events match.")
    page.get_by_role("combobox", name="Status").select_option("draft")
    expect(row).to_contain_text("Firmenfeier Nord")


def test_the_pages_fit_a_phone(browser: Browser, bob, agency, live_server) -> None:  # noqa: F811
    event = agency.event("Ein sehr langer Veranstaltungstitel für das Handy", location="Messe Halle 7")
    agency.area(event, "Bar", 2, role_requirements={"bartender": 1})
    with signed_in(browser, live_server.url, bob, phone=True) as watched:
        page = watched.page
        for path in (
            "/events/",
            f"/events/{event.pk}/",
            "/events/new",
            f"/events/{event.pk}/edit",
            "/events/templates/",
        ):
            page.goto(f"{live_server.url}{path}")
            expect(page.locator("h1")).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, (path, width)
        watched.assert_clean()
