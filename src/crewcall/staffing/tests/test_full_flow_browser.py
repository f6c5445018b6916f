"""The dispatcher's whole day in a real browser (Debian's Chromium) speaking German, on
a real `crewcall web` process (uvicorn), so the board follows the change stream for real:

sign in as a dispatcher → an event from a template, through the pages → the board → ask
preview → ask → the worker sends the invitations → in a second tab the WhatsApp simulator
answers Yes for two people and No for one, through the real signed webhook → the board in
the first tab shows them under accepted / declined without a reload → place the two who
accepted → mark the event completed on the event page → enter and approve their hours on
the board → the employees' totals change.

The event is yesterday's: hours are recorded once they were worked.

The web process is its own CREWCALL_PUBLIC_URL, so the simulator's webhook POST reaches
it; the jobs (send, simulated delivery, apply the replies) run in this process, on the
same database, as the worker would run them.

With CREWCALL_SCREENSHOTS=<folder> it keeps a picture of each step there
(`make screenshots` writes them to docs/screenshots/).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from crewcall.events.models import Event
from crewcall.events.services import event_create, work_area_create
from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.staffing.models import Invitation
from crewcall.testing.browser import Watched, browser, sign_in_as  # noqa: F401 - the fixture
from crewcall.testing.jobs import run_jobs
from crewcall.testing.owner import empty_job_tables
from crewcall.testing.sse import WebProcess

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.feed]

# Generous, as in test_live_browser.py: the feed's horizon is cluster-wide, so another
# test's open transaction can hold live updates back. Not a timing assertion: a bound.
WAIT_MS = 120_000
PROCRASTINATE_TABLES = "procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers"


def _truncate_jobs() -> None:
    empty_job_tables()


@pytest.fixture
def clean_jobs(transactional_db: Any) -> Iterator[None]:
    """procrastinate's tables are unmanaged: Django's flush leaves jobs of other tests."""
    _truncate_jobs()
    yield
    _truncate_jobs()


def run_jobs_beside_playwright() -> None:
    """Run every due job of the messaging queues, as the worker would: in a thread of its
    own, since Playwright's sync API keeps an event loop running in this one."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            run_jobs(("messages", "inbound"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert not errors, errors


@pytest.fixture
def web(tmp_path: Path, settings: Any, clean_jobs: None) -> Iterator[WebProcess]:
    """A real web process on this test's database that is its own public URL (the
    simulator POSTs its webhooks there); this process's jobs post delivery reports there."""
    process = WebProcess(tmp_path / "web.log")
    url = f"http://127.0.0.1:{process.port}"
    process.env["CREWCALL_PUBLIC_URL"] = url
    settings.PUBLIC_URL = url
    settings.MESSAGING_PROVIDER = "simulator"
    process.start()
    try:
        yield process
    finally:
        process.stop()


def make_template(agency: Any) -> Event:
    template = event_create(
        actor=agency.actor, title="Hochzeit Vorlage", start_time=time(17, 0), end_time=time(23, 30),
        hourly_rate=Decimal("16.00"), employees_needed=2, employees_to_ask=3, is_template=True,
    )  # fmt: skip
    work_area_create(actor=agency.actor, event_id=template.pk, name="Bar", max_capacity=1)
    work_area_create(actor=agency.actor, event_id=template.pk, name="Service", max_capacity=2)
    return template


class Steps:
    """A picture of each step when CREWCALL_SCREENSHOTS names a folder (else nothing)."""

    def __init__(self) -> None:
        folder = os.environ.get("CREWCALL_SCREENSHOTS")
        self.folder = Path(folder) if folder else None
        self.number = 0

    def shot(self, page: Page, name: str) -> None:
        if self.folder is None:
            return
        self.number += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        # caret="initial": hiding the caret would inject a <style> the page's CSP refuses.
        page.screenshot(
            path=str(self.folder / f"flow-de-{self.number:02d}-{name}.png"), full_page=True, caret="initial"
        )


def answer_on_simulator(tab: Page, base: str, invitation: Invitation, answer: str) -> None:
    tab.goto(f"{base}/simulator/{invitation.employee_id}/")
    row = tab.locator(f'#conversation-answers li[data-invitation="{invitation.pk}"]')
    row.get_by_role("button", name=re.compile(rf"^{answer}\b")).click()
    expect(tab.locator(".messages")).to_contain_text("gesendet")
    expect(tab.locator("#conversation-timeline .sim-in")).to_have_count(1)


def enter_hours_and_check_totals(
    page: Page, base: str, event: Event, placed: list[Invitation], steps: Steps
) -> None:
    """17:00 to 23:30 with a 30-minute break is 6 hours each; the second is approved too."""
    page.get_by_role("link", name="Einsatzplan").click()
    expect(page.locator("#hours-totals [data-fact='total-hours']")).to_have_text(re.compile(r"^0(,00)?$"))
    for invitation in placed:
        row = page.locator(f"#hours-row-{invitation.employee_id}")
        expect(row.get_by_label("Beginn")).to_have_value("17:00")
        expect(row.get_by_label("Ende")).to_have_value("23:30")
        row.get_by_label("Pause (Minuten)").fill("30")
        row.get_by_role("button", name="Stunden speichern").click()
        row = page.locator(f"#hours-row-{invitation.employee_id}")
        expect(row.locator("[data-fact='hours']")).to_have_text("6,00")
        expect(row.locator("[data-fact='employee-total']")).to_contain_text("6,00")
    last = page.locator(f"#hours-row-{placed[-1].employee_id}")
    last.get_by_role("button", name="Freigeben").click()
    expect(page.locator(f"#hours-row-{placed[-1].employee_id} [data-fact='approved']")).to_contain_text(
        "Freigegeben"
    )
    expect(page.locator("#hours-totals [data-fact='total-hours']")).to_have_text("12,00")
    expect(page.locator("#hours-totals [data-fact='total-cost']")).to_have_text("192,00")
    steps.shot(page, "stunden")
    for invitation in placed:
        page.goto(f"{base}/employees/{invitation.employee_id}/")
        worked = page.locator("dt", has_text="Geleistete Stunden").locator("xpath=following-sibling::dd[1]")
        expect(worked).to_have_text("6,00")
    steps.shot(page, "mitarbeiterin")


def test_from_template_to_hours_with_live_answers_from_the_simulator(
    browser: Browser,  # noqa: F811
    bob,
    agency,
    web: WebProcess,
) -> None:
    template = make_template(agency)
    for name in ("Ada Adler", "Ben Berg", "Cem Cakir", "Dora Dahl"):
        agency.employee(name)
    base = f"http://127.0.0.1:{web.port}"
    context = browser.new_context(locale="de-DE", viewport={"width": 1366, "height": 900})
    sign_in_as(context, bob, base)
    board_tab, sim_tab = Watched(context), Watched(context)
    steps = Steps()
    try:
        # An event from the template, through the pages.
        page = board_tab.open(f"{base}/events/new")
        page.locator("#id_tpl-template").select_option(str(template.pk))
        page.locator("#id_tpl-event_date").fill((timezone.localdate() - timedelta(days=1)).isoformat())
        steps.shot(page, "aus-vorlage")
        page.get_by_role("button", name="Aus Vorlage erstellen").click()
        expect(page.locator("h1")).to_contain_text("Hochzeit Vorlage")
        event = Event.objects.get(template=template)
        assert sorted(event.work_areas.values_list("name", flat=True)) == ["Bar", "Service"]
        page.get_by_role("button", name="Zur Besetzung freigeben").click()
        expect(page.locator("h1 .status")).to_have_text("In Besetzung")
        steps.shot(page, "veranstaltung")

        # The board → the ask preview → ask three.
        page.get_by_role("link", name="Einsatzplan").click()
        expect(page.locator("#board-head h1")).to_contain_text("Hochzeit Vorlage")
        page.get_by_label("Wie viele anfragen").fill("3")
        page.get_by_role("button", name="Vorschau: wer angefragt würde").click()
        expect(page.locator("table.preview-table tbody tr")).to_have_count(3)
        steps.shot(page, "vorschau")
        page.get_by_role("button", name="Diese 3 anfragen").click()
        expect(page.locator("#group-asked li[data-invitation]")).to_have_count(3)
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=WAIT_MS)

        # The worker sends the invitations (and the simulator reports them delivered).
        run_jobs_beside_playwright()
        invitations = list(Invitation.objects.filter(event=event).order_by("id"))
        assert (
            OutboundMessage.objects.filter(event=event, kind="invitation").exclude(status="queued").count()
            == 3
        )

        # The second tab: answer as three employees on the simulator.
        yes_one, yes_two, no_one = invitations
        sim = sim_tab.page
        for invitation, answer in ((yes_one, "Ja"), (yes_two, "Ja"), (no_one, "Nein")):
            answer_on_simulator(sim, base, invitation, answer)
        steps.shot(sim, "simulator")
        assert InboundMessage.objects.filter(outcome="pending").count() == 3
        run_jobs_beside_playwright()  # the worker applies the replies
        assert InboundMessage.objects.filter(outcome="applied").count() == 3

        # The first tab, never reloaded, shows the answers.
        page.bring_to_front()
        accepted = page.locator("#group-accepted li[data-invitation]")
        expect(accepted).to_have_count(2, timeout=WAIT_MS)
        expect(page.locator("#group-declined li[data-invitation]")).to_have_count(1, timeout=WAIT_MS)
        expect(page.locator("#group-declined")).to_contain_text(no_one.employee.name)
        steps.shot(page, "antworten-live")

        # Place the two who accepted.
        for invitation, area in ((yes_one, "Bar"), (yes_two, "Service")):
            row = page.locator(f'#group-accepted li[data-invitation="{invitation.pk}"]')
            row.get_by_label("Bereich").select_option(str(event.work_areas.get(name=area).pk))
            row.get_by_role("button", name="Einteilen").click()
            expect(page.locator(f'#group-accepted li[data-invitation="{invitation.pk}"]')).to_contain_text(
                f"Eingeteilt in {area}"
            )
        expect(page.locator('[data-fact="placed"]')).to_contain_text("2 /")
        steps.shot(page, "eingeteilt")

        # Mark the event completed, on the event page.
        page.get_by_role("link", name="Details der Veranstaltung").click()
        page.get_by_role("link", name=re.compile("Als abgeschlossen markieren")).click()
        steps.shot(page, "abschliessen")
        page.get_by_role("button", name="Ja, als abgeschlossen markieren").click()
        expect(page.locator("h1 .status")).to_have_text("Abgeschlossen")
        event.refresh_from_db()
        assert event.status == "completed"

        # Hours, back on the board: the totals of both employees change.
        enter_hours_and_check_totals(page, base, event, [yes_one, yes_two], steps)

        board_tab.assert_clean()
        sim_tab.assert_clean()
    finally:
        context.close()
