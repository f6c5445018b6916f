"""The employee import in a real browser (Debian's Chromium): a file with bad rows shows the
per-row report and writes nothing; the fixed file imports, with the upload's progress and
the "checking N rows" state on the way, and the list shows the new employees. No console
errors, no CSP violations."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, FilePayload, expect

from crewcall.people.models import Employee
from crewcall.testing.browser import browser, signed_in  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

HEADER = "name,phone_number,primary_role,employment_type,skills,is_always_needed,notes,preferred_language\n"
# Records what the import panel says while the request runs (it is replaced by the answer).
WATCH_STATUS = (
    "window.__states = [];"
    "new MutationObserver(() => {"
    " const form = document.querySelector('[data-import-form]');"
    " const status = document.getElementById('import-status');"
    " if (form && status && form.dataset.importState) window.__states.push(form.dataset.importState + ':' + status.textContent);"
    "}).observe(document.getElementById('main'), {subtree: true, childList: true, characterData: true, attributes: true});"
)


def csv_file(text: str) -> FilePayload:
    return {"name": "staff.csv", "mimeType": "text/csv", "buffer": text.encode()}


def test_a_bad_file_shows_the_report_and_the_fixed_one_imports(
    browser: Browser,  # noqa: F811
    live_server,
    bob,
    agency,
) -> None:
    bad = HEADER + "Anna Alt,+49 151 11111111,waiter,mini_job,,,,\nBen Berg,12,pilot,mini_job,,,,\n"
    good = (
        HEADER + "Anna Alt,+49 151 11111111,waiter,mini_job,,,,\nBen Berg,0151 22222222,cook,freelance,,,,\n"
    )
    with signed_in(browser, live_server.url, bob) as watched:
        page = watched.open(f"{live_server.url}/employees/")
        page.get_by_role("link", name="Import").click()
        expect(page.locator("h1")).to_have_text("Import employees")

        page.get_by_label("CSV file").set_input_files(csv_file(bad))
        page.get_by_role("button", name="Import", exact=True).click()
        report = page.locator("#import-report")
        expect(report).to_contain_text("Nothing was imported")
        rows = report.locator("tbody tr")
        expect(rows).to_have_count(2)  # line 3: phone number and role
        expect(rows.first).to_contain_text("3")
        expect(report).to_contain_text("There is no role 'pilot'.")
        assert not Employee.objects.exists()

        page.evaluate(WATCH_STATUS)
        page.get_by_label("CSV file").set_input_files(csv_file(good))
        expect(page.locator("[data-import-form]")).to_have_attribute("data-rows", "2")
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.locator("#import-done")).to_contain_text("2 employees imported.")
        expect(page.locator("#import-report")).to_have_count(0)
        states = page.evaluate("window.__states")
        assert any(state.startswith("uploading:") for state in states), states
        assert "checking:Checking 2 rows…" in states, states

        page.get_by_role("link", name="Show the employee list").click()
        list_rows = page.locator("#employee-list tbody tr")
        expect(list_rows).to_have_count(2)
        expect(page.locator("#employee-list")).to_contain_text("Ben Berg")
        watched.assert_clean()
