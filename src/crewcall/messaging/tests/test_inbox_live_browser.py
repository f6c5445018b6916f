"""The inbox badge in a real browser (Debian's Chromium), on a page that follows the
change stream: an employee's question arrives over WhatsApp and the header's count goes
up by itself; handled, it goes down."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from crewcall.messaging.inbound import inbound_receive
from crewcall.messaging.inbox import inbound_mark_handled
from crewcall.staffing.tasks import apply_inbound
from crewcall.testing.browser import Watched, browser, sign_in_as  # noqa: F401 - the fixture
from crewcall.testing.sse import web_processes
from crewcall.testing.webhooks import inbound_params

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.feed]

WAIT_MS = 120_000  # under `pytest -n` another worker's transaction can hold the feed back


def test_a_question_lights_the_inbox_badge_live(tmp_path, browser: Browser, bob, agency) -> None:  # noqa: F811
    ada = agency.employee("Ada")
    with web_processes(tmp_path) as (web,):
        url = f"http://127.0.0.1:{web.port}"
        context = browser.new_context()
        sign_in_as(context, bob, url)
        watched = Watched(context)
        page = watched.open(f"{url}/")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
        badge = page.locator("#inbox-badge")
        expect(badge).to_have_attribute("data-inbox-count", "0", timeout=WAIT_MS)

        params = inbound_params(ada.phone_number, "Kann ich erst um 19 Uhr kommen?")
        received = inbound_receive(
            provider_sid=params["MessageSid"], from_number=params["From"], body=params["Body"], raw=params
        )
        apply_inbound()
        expect(badge).to_have_attribute("data-inbox-count", "1", timeout=WAIT_MS)
        expect(badge.locator(".badge")).to_have_text("1")

        inbound_mark_handled(actor=bob, message_id=received.message_id)
        expect(badge).to_have_attribute("data-inbox-count", "0", timeout=WAIT_MS)
        watched.assert_clean()
        context.close()
