"""The personal page on a phone in Debian's Chromium: tap Yes, read the confirmation; no
sideways scrolling, no console errors, no failed requests, no CSP violations."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from crewcall.staffing.models import Invitation
from crewcall.staffing.services import invitation_create
from crewcall.testing.browser import PHONE, Watched, browser  # noqa: F401 - the fixture
from crewcall.web.personal import employee_link_token

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
]


def test_tap_yes_on_a_phone(live_server: Any, browser: Browser, agency: Any) -> None:  # noqa: F811
    emil = agency.employee("Emil", preferred_language="en")
    gala = agency.event("Summer gala with a rather long title for a small screen", location="Castle")
    agency.accepted(agency.event("Brunch"), emil)
    invitation = invitation_create(actor=agency.actor, event_id=gala.pk, employee_id=emil.pk)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        watched = Watched(context)
        page = watched.open(f"{live_server.url}/r/{employee_link_token(emil.pk)}/")
        expect(page.locator("h1")).to_have_text("Hi Emil")
        card = page.locator(f"#invitation-{invitation.pk}")
        expect(card).to_contain_text("Castle")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        card.get_by_role("button", name="Yes").tap()

        expect(page.locator(".alert-success")).to_contain_text("Great, Emil! You are booked for")
        expect(page.locator("#open-heading + .empty")).to_have_text("No open requests right now.")
        expect(page.locator(f"#invitation-{invitation.pk}")).to_be_visible()  # now among the shifts
        expect(page.locator("section[aria-labelledby=shifts-heading] article")).to_have_count(2)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        watched.assert_clean()
    finally:
        context.close()
    answered = Invitation.objects.get(pk=invitation.pk)
    assert answered.status == "accepted" and answered.response_method == "web"
