"""The staffing board in a real browser (Debian's Chromium): a dispatcher previews who
would be asked, asks two and sees them under "asked", with no console error or CSP
violation; and the board is readable on a 375 px wide phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from crewcall.staffing.models import Invitation
from crewcall.staffing.services import invitation_create
from crewcall.testing.browser import browser, signed_in  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
]


def test_preview_then_ask_two_and_see_them_asked(
    browser: Browser,  # noqa: F811
    bob,
    agency,
    live_server,
) -> None:
    event = agency.event("Sommerfest", employees_needed=2, employees_to_ask=4)
    agency.area(event, "Bar", capacity=2)
    for name in ("Ada", "Ben", "Cem", "Dora"):
        agency.employee(name)
    with signed_in(browser, live_server.url, bob) as watched:
        page = watched.open(f"{live_server.url}/events/{event.pk}/board/")
        expect(page.locator("h1")).to_contain_text("Sommerfest")
        expect(page.locator("#group-asked")).to_contain_text("Nobody.")
        page.get_by_label("How many to ask").fill("2")
        page.get_by_role("button", name="Preview who would be asked").click()
        rows = page.locator("table.preview-table tbody tr")
        expect(rows).to_have_count(2)
        assert not Invitation.objects.filter(event=event).exists()
        page.get_by_role("button", name="Ask these 2").click()
        expect(page.locator(".messages")).to_contain_text("Asked 2 people.")
        asked = page.locator("#group-asked li[data-invitation]")
        expect(asked).to_have_count(2)
        names = set(Invitation.objects.filter(event=event).values_list("employee__name", flat=True))
        assert len(names) == 2
        for name in names:
            expect(page.locator("#group-asked")).to_contain_text(name)
        watched.assert_clean()


def test_the_board_fits_a_phone(
    browser: Browser,  # noqa: F811
    bob,
    agency,
    live_server,
) -> None:
    event = agency.event("Hochzeit", employees_needed=2, employees_to_ask=2)
    agency.area(event, "Bar", capacity=2, role_requirements={"bartender": 1})
    agency.accepted(event, agency.employee("Anna-Lena Schmidt-Hohenstein"))
    with signed_in(browser, live_server.url, bob, phone=True) as watched:
        page = watched.open(f"{live_server.url}/events/{event.pk}/board/")
        expect(page.locator("#group-accepted")).to_contain_text("Anna-Lena")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        watched.assert_clean()


def test_a_status_changed_by_hand_through_the_form_loaded_on_demand(
    browser: Browser,  # noqa: F811
    bob,
    agency,
    live_server,
) -> None:
    event = agency.event("Jubiläum", employees_needed=1, employees_to_ask=2)
    invitation = invitation_create(actor=bob, event_id=event.pk, employee_id=agency.employee("Edda").pk)
    with signed_in(browser, live_server.url, bob) as watched:
        page = watched.open(f"{live_server.url}/events/{event.pk}/board/")
        row = page.locator(f'#group-asked li[data-invitation="{invitation.pk}"]')
        expect(row.locator("select")).to_have_count(0)  # no form until asked for
        row.get_by_text("Change status").click()
        row.get_by_label("Set status").select_option("declined")
        row.get_by_label("Note (why)").fill("phoned in")
        row.get_by_role("button", name="Change").click()
        expect(page.locator(".messages")).to_contain_text("Edda is now declined.")
        expect(page.locator("#group-declined")).to_contain_text("Edda")
        invitation.refresh_from_db()
        assert (invitation.status, invitation.response_method) == ("declined", "manual")
        watched.assert_clean()
