"""Two dispatchers on one staffing board, in a real browser (Debian's Chromium) against
real `crewcall web` processes: what one does on the page, the other sees without
reloading; after the server was down and back, a change made meanwhile shows in both and
the live banner goes reconnecting → live. And a stale save of an employee opens the
side-by-side conflict view instead of overwriting."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from crewcall.people.services import employee_update
from crewcall.staffing.models import Assignment
from crewcall.staffing.placement import assignment_create
from crewcall.testing.browser import Watched, browser, sign_in_as, signed_in  # noqa: F401 - fixture
from crewcall.testing.sse import web_processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Generous: under `pytest -n` another worker's long transaction can hold the feed back.
WAIT_MS = 120_000


def restart_noise(problem: str) -> bool:
    """What a server going away and coming back causes by itself: the change stream's
    request cut off mid-stream or refused while it reconnects (Chromium logs those as
    console errors without the URL)."""
    cut = ("ERR_CONNECTION_REFUSED", "ERR_INCOMPLETE_CHUNKED_ENCODING", "ERR_EMPTY_RESPONSE")
    return "/api/v1/changes" in problem or any(reason in problem for reason in cut)


@contextmanager
def dispatcher(chromium: Browser, url: str, user: object) -> Iterator[Watched]:
    """A watched page signed in as `user` on the real server at `url` (the real change
    stream, no stand-in)."""
    context = chromium.new_context()
    sign_in_as(context, user, url)
    try:
        yield Watched(context)
    finally:
        context.close()


def areas(page: Page) -> Locator:
    return page.locator("#board-areas")


@pytest.mark.feed  # the change feed's horizon is cluster-wide: runs alone, after the rest
def test_two_dispatchers_see_each_others_placements_live_and_after_a_restart(
    tmp_path,
    browser: Browser,  # noqa: F811
    alice,
    bob,
    agency,
) -> None:
    event = agency.event("Sommerfest", employees_needed=2, employees_to_ask=2)
    bar = agency.area(event, "Bar", capacity=3)
    ada = agency.accepted(event, agency.employee("Ada Lovelace"))
    ben = agency.accepted(event, agency.employee("Ben Brenner"))
    with web_processes(tmp_path) as (web,):
        url = f"http://127.0.0.1:{web.port}"
        board = f"{url}/events/{event.pk}/board/"
        with dispatcher(browser, url, bob) as one, dispatcher(browser, url, alice) as other:
            a, b = one.open(board), other.open(board)
            for page in (a, b):
                expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
                expect(areas(page)).to_contain_text("Nobody placed yet.")
                expect(page.locator("[data-fact=placed]")).to_contain_text("0 /")

            # Bob places Ada through the page; Alice's board shows it without a reload.
            row = a.locator(f"li[data-invitation='{ada.pk}']")
            # By name: the label's own test is test_every_board_control_has_its_own_label.
            row.locator("select[name=work_area]").select_option(str(bar.pk))
            began = time.monotonic()
            row.get_by_role("button", name="Place").click()
            expect(a.locator(".messages")).to_contain_text("Ada Lovelace is placed in Bar")
            expect(areas(b)).to_contain_text("Ada Lovelace", timeout=WAIT_MS)
            latency = time.monotonic() - began
            print(f"\nlive: the other dispatcher saw the placement after {latency * 1000:.0f} ms")
            expect(b.locator("[data-fact=placed]")).to_contain_text("1 /")
            assert b.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload
            assert Assignment.objects.filter(event=event, employee_id=ada.employee_id).exists()
            assert one.problems == [] and other.problems == []

            # The server goes away; meanwhile someone places Ben; both boards show it after.
            web.stop()
            for page in (a, b):
                expect(page.locator("#live-status")).to_have_attribute(
                    "data-state", "reconnecting", timeout=WAIT_MS
                )
            assignment_create(
                actor=agency.actor, work_area_id=bar.pk, role_id=agency.bartender.pk, invitation_id=ben.pk
            )
            web.start()
            for page in (a, b):
                status = page.locator("#live-status")
                expect(status).to_have_attribute("data-state", "live", timeout=WAIT_MS)
                expect(status).to_have_text("live again")
                expect(areas(page)).to_contain_text("Ben Brenner", timeout=WAIT_MS)
                expect(page.locator("[data-fact=placed]")).to_contain_text("2 /")
            for watched in (one, other):
                assert watched.page.evaluate("window.__csp") == []
                assert [p for p in watched.problems if not restart_noise(p)] == []


@pytest.mark.django_db(transaction=True, reset_sequences=True)  # the first area and invitation: both id 1
def test_every_board_control_has_its_own_label(
    browser: Browser,  # noqa: F811
    bob,
    agency,
    live_server,
) -> None:
    """No id twice on the board, so each <label for> names its own control: a work area's
    heading and an invitation's work-area select must not share one."""
    event = agency.event("Sommerfest")
    bar = agency.area(event, "Bar", capacity=3)
    ada = agency.accepted(event, agency.employee("Ada Lovelace"))
    with signed_in(browser, live_server.url, bob) as watched:
        page = watched.open(f"{live_server.url}/events/{event.pk}/board/")
        ids = page.evaluate("Array.from(document.querySelectorAll('[id]'), e => e.id)")
        assert sorted({i for i in ids if ids.count(i) > 1}) == []
        row = page.locator(f"li[data-invitation='{ada.pk}']")
        row.get_by_label("Work area").select_option(str(bar.pk))
        row.get_by_role("button", name="Place").click()
        expect(page.locator("#board-areas")).to_contain_text("Ada Lovelace")
        watched.assert_clean()


def test_a_stale_employee_save_opens_the_conflict_view(
    browser: Browser,  # noqa: F811
    alice,
    bob,
    agency,
    live_server,
) -> None:
    anna = agency.employee("Anna Alt", notes="old")
    edit = f"{live_server.url}/employees/{anna.pk}/edit"
    with signed_in(browser, live_server.url, bob) as one, signed_in(browser, live_server.url, alice) as other:
        a, b = one.open(edit), other.open(edit)  # both read the same version
        a.get_by_label("Notes").fill("from Bob")
        a.get_by_role("button", name="Save changes").click()
        expect(a.locator("h1")).to_contain_text("Anna Alt")
        anna.refresh_from_db()
        assert anna.notes == "from Bob"

        b.get_by_label("Notes").fill("from Alice")
        b.get_by_role("button", name="Save changes").click()
        expect(b.locator("#conflict-title")).to_have_text("Someone else saved a change meanwhile")
        expect(b.locator("h1")).to_have_text("Edit Anna Alt")
        expect(b.locator("#conflict-message")).to_be_visible()
        notes = b.locator("#conflict tr[data-field=notes]")
        expect(notes).to_have_class("differs")
        expect(notes.locator("td.theirs .value")).to_have_text("from Bob")
        expect(notes.locator("td.yours .value")).to_have_text("from Alice")
        expect(b.get_by_role("button", name="Save merged")).to_be_visible()
        expect(b.get_by_role("button", name="Keep mine (overwrite theirs)")).to_be_visible()
        anna.refresh_from_db()
        assert anna.notes == "from Bob"  # nothing of Alice's written

        # Keeping mine is a deliberate choice: then Alice's notes are saved.
        b.get_by_role("button", name="Keep mine (overwrite theirs)").click()
        expect(b.locator("h1")).to_contain_text("Anna Alt")
        expect(b.locator("#conflict")).to_have_count(0)
        anna.refresh_from_db()
        assert anna.notes == "from Alice"
        one.assert_clean()
        other.assert_clean()


def test_a_save_made_on_the_server_meanwhile_also_conflicts(
    browser: Browser,  # noqa: F811
    bob,
    agency,
    live_server,
) -> None:
    """The conflict comes from the version the form read, whoever changed it since."""
    anna = agency.employee("Anna Alt", notes="old")
    with signed_in(browser, live_server.url, bob) as one:
        page = one.open(f"{live_server.url}/employees/{anna.pk}/edit")
        employee_update(
            actor=agency.actor,
            employee_id=anna.pk,
            expected_version=anna.version,
            changes={"name": "Anna Neu"},
        )
        page.get_by_label("Notes").fill("mine")
        page.get_by_role("button", name="Save changes").click()
        expect(page.locator("#conflict-title")).to_be_visible()
        expect(page.locator("h1")).to_have_text("Edit Anna Neu")
        name = page.locator("#conflict tr[data-field=name]")
        expect(name.locator("td.theirs .value")).to_have_text("Anna Neu")
        expect(name.locator("td.yours .value")).to_have_text("Anna Alt")
        notes = page.locator("#conflict tr[data-field=notes]")
        expect(notes.locator("td.theirs .value")).to_have_text("old")
        expect(notes.locator("td.yours .value")).to_have_text("mine")
        anna.refresh_from_db()
        assert (anna.name, anna.notes) == ("Anna Neu", "old")

        # Nothing lost: the merge takes their name and my notes.
        name.get_by_label("Name: theirs").check()
        page.get_by_role("button", name="Save merged").click()
        expect(page.locator("#conflict")).to_have_count(0)
        expect(page.locator("h1")).to_contain_text("Anna Neu")
        anna.refresh_from_db()
        assert (anna.name, anna.notes) == ("Anna Neu", "mine")
        one.assert_clean()


@pytest.mark.feed
def test_a_colleagues_change_waits_while_someone_is_typing_in_the_fragment(
    tmp_path,
    browser: Browser,  # noqa: F811
    bob,
    agency,
) -> None:
    from datetime import datetime, timedelta
    from datetime import time as clock

    from django.utils import timezone

    from crewcall.staffing.services import work_log_create

    yesterday = timezone.localdate() - timedelta(days=1)
    event = agency.event("Gestern", event_date=yesterday, employees_needed=2, employees_to_ask=2)
    area = agency.area(event, "Bar", capacity=2)
    people = [agency.employee(name) for name in ("Ada Adler", "Ben Berg")]
    for person in people:
        invitation = agency.accepted(event, person)
        assignment_create(actor=agency.actor, invitation_id=invitation.pk, work_area_id=area.pk,
                          role_id=agency.bartender.pk)  # fmt: skip
    with web_processes(tmp_path) as (web,):
        url = f"http://127.0.0.1:{web.port}"
        with dispatcher(browser, url, bob) as watched:
            page = watched.open(f"{url}/events/{event.pk}/board/")
            expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
            typing = page.locator(f"#hours-row-{people[0].pk}").get_by_label("Break (minutes)")
            typing.fill("45")
            # A colleague saves Ben's hours meanwhile: the change reaches this page live.
            start = timezone.make_aware(datetime.combine(yesterday, clock(18)))
            work_log_create(actor=agency.actor, event_id=event.pk, employee_id=people[1].pk,
                            started_at=start, ended_at=start + timedelta(hours=5))  # fmt: skip
            expect(page.locator("body")).to_have_attribute(
                "data-live-received", re.compile(r"^[1-9]"), timeout=WAIT_MS
            )
            time.sleep(1.5)  # past the refresh delay and one hold: the refresh was held back
            expect(typing).to_have_value("45")
            expect(page.locator(f"#hours-row-{people[1].pk} [data-fact='hours']")).to_have_count(0)
            typing.fill("0")  # back to what was there: nothing unsaved, the refresh goes ahead
            expect(page.locator(f"#hours-row-{people[1].pk} [data-fact='hours']")).to_have_text(
                "5.00", timeout=WAIT_MS
            )
            watched.assert_clean()
