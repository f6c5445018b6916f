"""Two dispatchers edit the same employee in two browsers (Debian's Chromium): the second
save opens the conflict view, merged three ways: the field only the colleague changed
is pre-chosen theirs (and survives "Save merged"), the field only this user changed
mine, the field both changed waits for a choice (made by keyboard). No console errors, no CSP violations."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from crewcall.people.models import Employee
from crewcall.testing.browser import browser, signed_in  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_second_save_opens_the_conflict_view_and_saves_the_merge(
    browser: Browser,  # noqa: F811
    live_server,
    alice,
    bob,
    agency,
) -> None:
    anna = agency.employee("Anna Alt", notes="old")
    edit = f"{live_server.url}/employees/{anna.pk}/edit"
    with (
        signed_in(browser, live_server.url, alice) as first,
        signed_in(browser, live_server.url, bob) as second,
    ):
        one, two = first.open(edit), second.open(edit)  # both read the same version

        one.get_by_label("Name", exact=True).fill("Anna Erste")
        one.get_by_label("Notes").fill("from Alice")
        one.get_by_role("button", name="Save changes").click()
        expect(one.locator("h1")).to_contain_text("Anna Erste")

        two.get_by_label("Notes").fill("from Bob")
        two.get_by_label("Always needed (asked first)").check()
        two.get_by_role("button", name="Save changes").click()
        expect(two.locator("#conflict-message")).to_contain_text("Nothing of yours was saved")
        table = two.locator(".conflict-table")
        expect(table.locator("tr.differs")).to_have_count(3)  # name, always needed, notes
        expect(table.locator('tr[data-field="name"] td.theirs')).to_contain_text("Anna Erste")
        expect(table.locator('tr[data-field="name"] td.yours')).to_contain_text("Anna Alt")
        expect(table.locator('tr[data-field="phone_number"] input')).to_have_count(0)
        assert Employee.objects.get(pk=anna.pk).notes == "from Alice"  # nothing of Bob's yet

        # Three-way: the name only Alice changed is pre-chosen hers, "always needed" only
        # Bob changed his; the notes both changed: Bob must choose.
        expect(table.locator('tr[data-field="name"] td.base')).to_contain_text("Anna Alt")
        expect(two.get_by_label("Name: theirs")).to_be_checked()
        expect(two.get_by_label("Always needed (asked first): mine")).to_be_checked()
        expect(table.locator('tr[data-field="notes"] .both-changed')).to_be_visible()
        expect(two.get_by_label("Notes: mine")).not_to_be_checked()
        expect(two.get_by_label("Notes: theirs")).not_to_be_checked()
        two.get_by_role("button", name="Save merged").click()  # refused by the browser: choose first
        expect(two.locator("#conflict-message")).to_be_visible()
        assert Employee.objects.get(pk=anna.pk).notes == "from Alice"
        # Notes: mine, by keyboard (arrow keys move within the field's two radios).
        two.get_by_label("Notes: theirs").focus()
        two.keyboard.press("Space")
        two.keyboard.press("ArrowRight")
        expect(two.get_by_label("Notes: mine")).to_be_checked()
        two.get_by_role("button", name="Save merged").click()

        expect(two.locator("h1")).to_contain_text("Anna Erste")
        stored = Employee.objects.get(pk=anna.pk)
        assert (stored.name, stored.notes, stored.is_always_needed) == ("Anna Erste", "from Bob", True)
        first.assert_clean()
        second.assert_clean()
