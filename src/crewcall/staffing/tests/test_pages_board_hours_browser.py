"""The board's work-area editor, hours entry and message timeline in a real browser
(Debian's Chromium): the editor shows an error beside the field while a bad value is
typed, without losing focus or caret, then saves a good one; hours entered on a completed
event show the hours and the employee's total; an employee's messages open on a phone,
where the hours fit too; no console error or CSP violation anywhere."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from crewcall.events.models import WorkArea
from crewcall.messaging.models import OutboundMessage
from crewcall.staffing.event_lifecycle import event_transition
from crewcall.staffing.models import WorkLog
from crewcall.staffing.placement import assignment_create
from crewcall.testing.browser import browser, signed_in  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
]


def test_the_work_area_editor_checks_while_typing_then_saves(
    browser: Browser,  # noqa: F811
    bob,
    agency,
    live_server,
) -> None:
    event = agency.event("Sommerfest")
    with signed_in(browser, live_server.url, bob) as watched:
        page = watched.open(f"{live_server.url}/events/{event.pk}/board/")
        page.get_by_role("link", name="Add work area").click()
        expect(page.locator("h1")).to_contain_text("New work area")
        page.get_by_label("Name").fill("Bar")
        capacity = page.get_by_label("Capacity")
        capacity.fill("2")
        roles = page.get_by_label("Roles needed")
        roles.press_sequentially("bartender: 3", delay=20)
        errors = page.locator("#wa-err-role_requirements")
        expect(errors).to_contain_text("Role requirements add up to 3, more than the capacity of 2.")
        # Still typing where we were: focus and caret untouched by the check.
        expect(roles).to_be_focused()
        assert roles.evaluate("e => e.selectionStart") == len("bartender: 3")
        roles.press("Backspace")
        roles.press_sequentially("1, juggler: 1", delay=20)
        expect(errors).to_contain_text('"juggler" is not a role in the catalogue.')
        expect(errors).not_to_contain_text("add up to")
        capacity.fill("0")
        expect(page.locator("#wa-err-max_capacity")).to_contain_text("This must be at least 1.")
        assert not WorkArea.objects.filter(event=event).exists()
        capacity.fill("3")
        roles.fill("bartender: 2, waiter: 1")
        expect(errors).to_be_empty()
        expect(page.locator("#wa-err-max_capacity")).to_be_empty()
        page.get_by_role("button", name="Add work area").click()
        expect(page.locator(".messages")).to_contain_text("Work area Bar added.")
        expect(page.locator('[data-area="Bar"]')).to_contain_text("2 \N{MULTIPLICATION SIGN} bartender")
        area = WorkArea.objects.get(event=event)
        assert area.role_requirements == {"bartender": 2, "waiter": 1} and area.max_capacity == 3
        watched.assert_clean()


def test_hours_on_a_completed_event_show_the_hours_and_the_employees_total(
    browser: Browser,  # noqa: F811
    bob,
    agency,
    live_server,
) -> None:
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    event = agency.event("Gala", event_date=yesterday, employees_needed=1, employees_to_ask=1,
                         hourly_rate=Decimal("20.00"))  # fmt: skip
    area = agency.area(event, "Bar", capacity=1)
    ada = agency.employee("Ada")
    inv = agency.accepted(event, ada)
    assignment_create(actor=bob, invitation_id=inv.pk, work_area_id=area.pk, role_id=agency.bartender.pk)
    event.refresh_from_db()
    event_transition(actor=bob, event_id=event.pk, expected_version=event.version, to_status="completed")
    with signed_in(browser, live_server.url, bob) as watched:
        page = watched.open(f"{live_server.url}/events/{event.pk}/board/")
        row = page.locator(f'[data-hours-employee="{ada.pk}"]')
        expect(row).to_have_attribute("data-hours-state", "open")
        row.get_by_label("Start").fill("18:00")
        row.get_by_label("End").fill("23:30")
        row.get_by_label("Break (minutes)").fill("-5")
        row.get_by_role("button", name="Save hours").click()
        expect(row.locator('[data-field="break_minutes"]')).to_contain_text("The break cannot be negative.")
        row.get_by_label("Break (minutes)").fill("30")
        row.get_by_role("button", name="Save hours").click()
        expect(row.locator('[data-fact="hours"]')).to_have_text("5.00")
        expect(row.locator('[data-fact="employee-total"]')).to_have_text("5.00")
        expect(page.locator('#hours-totals [data-fact="total-cost"]')).to_have_text("100.00")
        row.get_by_role("button", name="Approve").click()
        expect(row).to_have_attribute("data-hours-state", "approved")
        log = WorkLog.objects.get(event=event, employee=ada)
        assert log.hours == Decimal("5.00") and log.approved_by_id == bob.pk
        page.goto(f"{live_server.url}/employees/{ada.pk}/")
        expect(page.locator("dd", has_text="5.00").first).to_be_visible()
        watched.assert_clean()


def test_the_messages_open_on_a_phone_and_the_hours_fit_it(
    browser: Browser,  # noqa: F811
    bob,
    agency,
    live_server,
) -> None:
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    event = agency.event("Gala", event_date=yesterday, employees_needed=1, employees_to_ask=1)
    area = agency.area(event, "Bar", capacity=1)
    ada = agency.employee("Anna-Lena Schmidt-Hohenstein")
    inv = agency.accepted(event, ada)
    assignment_create(actor=bob, invitation_id=inv.pk, work_area_id=area.pk, role_id=agency.bartender.pk)
    OutboundMessage.objects.create(
        employee=ada, event=event, invitation=inv, kind="invitation", intent_key="phone:1",
        to_number=ada.phone_number, body="Gala yesterday, can you?", provider="simulator",
    )  # fmt: skip
    with signed_in(browser, live_server.url, bob, phone=True) as watched:
        page = watched.open(f"{live_server.url}/events/{event.pk}/board/")
        expect(page.locator(f'[data-hours-employee="{ada.pk}"]')).to_be_visible()
        toggle = page.locator(f'#group-accepted details[data-timeline-for="{ada.pk}"]')
        toggle.locator("summary").click()
        timeline = toggle.locator(f'[data-timeline-employee="{ada.pk}"]')
        expect(timeline.locator('li[data-direction="out"]')).to_contain_text("Gala yesterday, can you?")
        expect(page.locator("#board-invitations")).to_be_visible()  # the board around it stays
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        watched.assert_clean()
