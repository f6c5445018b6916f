"""The employee pages in a real browser (Debian's Chromium): a bad phone number is shown
next to its field, the fixed form saves, and the new employee is found by searching the
list (htmx refreshes the list as one types). No console errors, no CSP violations.

The pages run on pytest-django's live server (WSGI, threads); the change stream is an
endless async response only an ASGI server serves properly, so the browser gets a short
stand-in stream (as in web/tests/test_pages_browser.py) and live.js starts as usual.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Browser, expect

from crewcall.people import services
from crewcall.people.models import Employee
from crewcall.testing.browser import browser, signed_in  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_create_with_a_bad_phone_fix_it_and_find_the_employee(
    browser: Browser,  # noqa: F811
    live_server,
    bob,
    agency,
) -> None:
    agency.employee("Emil Eisen")
    with signed_in(browser, live_server.url, bob) as watched:
        page = watched.page
        page.goto(f"{live_server.url}/employees/new")
        page.get_by_label("Name", exact=True).fill("Greta Gast")
        page.get_by_label("Phone number").fill("12345")
        page.get_by_label("Primary role").select_option(label="Waiter")
        page.get_by_label("Employment type").select_option("mini_job")
        page.get_by_role("button", name="Add employee").click()

        phone_error = page.locator('[data-field="phone_number"] .errorlist')
        expect(phone_error).to_contain_text("is not a valid phone number")
        expect(page.locator('[data-field="name"] .errorlist')).to_have_count(0)
        expect(page.get_by_label("Name", exact=True)).to_have_value("Greta Gast")  # kept
        assert not Employee.objects.filter(name="Greta Gast").exists()

        page.get_by_label("Phone number").fill("0151 99887766")
        page.get_by_role("button", name="Add employee").click()
        expect(page.locator("h1")).to_contain_text("Greta Gast")
        expect(page.locator(".facts")).to_contain_text("+4915199887766")

        page.goto(f"{live_server.url}/employees/")
        rows = page.locator("#employee-list tbody tr")
        expect(rows).to_have_count(2)
        page.get_by_label("Search").fill("gret")
        expect(page).to_have_url(re.compile(r"/employees/\?q=gret"))  # htmx pushed the filter
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Greta Gast")
        expect(rows.first).to_contain_text("Mini job")
        watched.assert_clean()


def test_the_employee_pages_fit_a_phone_without_sideways_scrolling(
    browser: Browser,  # noqa: F811
    live_server,
    bob,
    agency,
) -> None:
    skills = [
        services.skill_create(actor=agency.actor, key=f"skill_{n}", name=f"Long skill name {n}")
        for n in range(4)
    ]
    emil = agency.employee("Emil Eisenhut-Wassermann", skills=skills, notes="Has a very long note " * 10)
    services.absence_create(
        actor=agency.actor,
        employee_id=emil.pk,
        kind="vacation",
        starts_on=date(2026, 7, 1),
        ends_on=date(2026, 7, 9),
    )
    with signed_in(browser, live_server.url, bob, phone=True) as watched:
        page = watched.page
        for path in ["/employees/", "/employees/new", "/employees/import", f"/employees/{emil.pk}/",
                     f"/employees/{emil.pk}/edit"]:  # fmt: skip
            page.goto(f"{live_server.url}{path}")
            expect(page.locator("h1")).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            wide = page.evaluate(
                "Array.from(document.querySelectorAll('body *'))"
                ".filter(e => e.getBoundingClientRect().right > 376).slice(0, 5)"
                ".map(e => e.tagName + '.' + e.className)"
            )
            assert width <= 375, (path, width, wide)
        watched.assert_clean()
