"""The personal link end to end in Debian's Chromium: the dispatcher asks, the invitation
in the simulator carries the employee's link, the employee opens it on a phone (375 px)
and answers there; the employee page copies the link."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from crewcall.staffing.asking import event_ask
from crewcall.staffing.models import Invitation
from crewcall.testing.browser import PHONE, Watched, browser, signed_in  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_link_in_the_invitation_opens_the_employees_page_on_a_phone(
    live_server: Any,
    browser: Browser,  # noqa: F811
    agency: Any,
    bob: Any,
    settings: Any,
) -> None:
    settings.PUBLIC_URL = live_server.url  # the links in messages point at this server
    ada = agency.employee("Ada Berg")
    event = agency.event(
        "Sommerfest", status="draft", employees_needed=1, employees_to_ask=1, location="Schloss"
    )
    event_ask(actor=agency.actor, event_id=event.pk)
    with signed_in(browser, live_server.url, bob) as watched:
        page = watched.open(f"{live_server.url}/simulator/{ada.pk}/")
        invitation_text = page.locator(".sim-bubble[data-direction=out] .sim-text").first
        expect(invitation_text).to_contain_text("Deine Einsätze und Antworten:")
        link = invitation_text.get_by_role("link")
        href = link.get_attribute("href")
        assert href is not None and href.startswith(f"{live_server.url}/r/")
        watched.assert_clean()

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        on_phone = Watched(phone)
        page = on_phone.open(href)
        expect(page.locator("h1")).to_have_text("Hallo Ada")
        card = page.locator(f"#invitation-{Invitation.objects.get(employee=ada).pk}")
        expect(card).to_contain_text("Schloss")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        card.get_by_role("button", name="Zusagen").tap()
        expect(page.locator(".alert-success")).to_contain_text("Super, Ada!")
        on_phone.assert_clean()
    finally:
        phone.close()
    assert Invitation.objects.get(employee=ada).status == "accepted"


def test_the_employee_page_copies_the_link(live_server: Any, browser: Browser, agency: Any, bob: Any) -> None:  # noqa: F811
    ada = agency.employee("Ada Berg")
    with signed_in(browser, live_server.url, bob) as watched:
        watched.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        page = watched.open(f"{live_server.url}/employees/{ada.pk}/")
        shown = page.locator("#personal-link-url").input_value()
        page.get_by_role("button", name="Copy link").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == shown
        watched.assert_clean()
