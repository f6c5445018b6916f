"""Every page of the dispatcher's app in a real browser (Debian's Chromium), on a small
agency with something of everything: no console error, no failed request, no CSP
violation anywhere; and every form, given bad input, shows the error next to the field.

Both lists are data: to sweep a new page add its path to PAGES; to check a new form add a
FormCase to FORMS (the page, what to fill, the button, the field that must show the error).
Paths are format strings over the ids of the `small_agency` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from crewcall.events.services import event_create, event_create_from_template
from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.people.models import AbsenceKind
from crewcall.people.services import absence_create
from crewcall.staffing.event_lifecycle import event_transition
from crewcall.staffing.placement import assignment_create
from crewcall.staffing.services import invitation_create, invitation_set_status
from crewcall.testing.browser import Watched, browser, sign_in_as, stand_in_stream  # noqa: F401 - the fixture
from crewcall.web.personal import employee_link_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Every page of the app, as the admin sees it.
PAGES = [
    "/",
    "/employees/",
    "/employees/{employee}/",
    "/employees/new",
    "/employees/{employee}/edit",
    "/employees/import",
    "/events/",
    "/events/{event}/",
    "/events/new",
    "/events/{event}/edit",
    "/events/{event}/weekly-copies",
    "/events/{event}/work-areas/new",
    "/events/{event}/work-areas/{area}/edit",
    "/events/templates/",
    "/events/templates/new",
    "/events/templates/{template}/edit",
    "/events/{event}/board/",
    "/events/{event}/board/ask?count=2",
    "/events/{event}/board/invitations/{asked}/status",
    "/events/{past_event}/board/",
    "/events/{past_event}/",
    "/messages/",
    "/history/employee/{employee}/",
    "/history/event/{event}/",
    "/users/",
    "/users/{user}/",
    "/simulator/",
    "/simulator/{employee}/",
    "/operations/",
    "/r/{token}/",
]


@dataclass(frozen=True)
class FormCase:
    """Open `path`, fill `fill` (input name → value; the browser's own checks are turned
    off, so the server's are tested), press the button named `submit`; the input named
    `field` must then be marked invalid and its field container must show an error."""

    id: str
    path: str
    fill: dict[str, str]
    submit: str
    field: str
    select: tuple[tuple[str, str], ...] = ()  # (select name, option value)
    files: tuple[tuple[str, str, bytes], ...] = ()  # (file input name, file name, content)


FORMS = [
    FormCase("employee-new", "/employees/new", {"name": "   "}, "Add employee", "name"),
    FormCase("employee-edit", "/employees/{employee}/edit", {"name": "   "}, "Save changes", "name"),
    FormCase("event-new-blank", "/events/new", {"blank-title": "   "}, "Create event", "blank-title"),
    FormCase(
        "event-new-from-template",
        "/events/new",
        {"tpl-event_date": ""},
        "Create from template",
        "tpl-event_date",
    ),
    FormCase("event-edit", "/events/{event}/edit", {"title": "   "}, "Save", "title"),
    FormCase(
        "event-weekly-copies", "/events/{event}/weekly-copies", {"count": "0"}, "Make the copies", "count"
    ),
    FormCase("template-new", "/events/templates/new", {"title": "   "}, "Save", "title"),
    FormCase("template-edit", "/events/templates/{template}/edit", {"title": "   "}, "Save", "title"),
    FormCase("ask-preview", "/events/{event}/board/ask?count=2", {"count": "0"}, "Preview again", "count"),
    FormCase("user-create", "/users/", {"username": "   "}, "Create user", "username"),
    FormCase("user-edit", "/users/{user}/", {"email": "not an address"}, "Save", "email"),
    FormCase("token-create", "/users/{user}/", {"name": "   "}, "Create token", "name"),
    FormCase("simulator-reply", "/simulator/{employee}/", {"body": "   "}, "Send", "body"),
    FormCase(
        "work-area-new-capacity",
        "/events/{event}/work-areas/new",
        {"name": "Kasse", "max_capacity": "0"},
        "Add work area",
        "max_capacity",
    ),
    FormCase(
        "work-area-new-roles-over-capacity",
        "/events/{event}/work-areas/new",
        {"name": "Kasse", "max_capacity": "2", "role_requirements": "bartender: 3"},
        "Add work area",
        "role_requirements",
    ),
    FormCase(
        "work-area-edit",
        "/events/{event}/work-areas/{area}/edit",
        {"max_capacity": "0"},
        "Save work area",
        "max_capacity",
    ),
    FormCase(
        "hours-break-longer-than-shift",
        "/events/{past_event}/board/",
        {"break_minutes": "400"},  # the shift is 18:00-23:00: 300 minutes
        "Save hours",
        "break_minutes",
    ),
    FormCase(
        "import-not-csv",
        "/employees/import",
        {},
        "Import",
        "file",
        files=(("file", "crew.png", b"\x89PNG\r\n"),),
    ),
    FormCase(
        "import-empty-file", "/employees/import", {}, "Import", "file", files=(("file", "crew.csv", b""),)
    ),
    FormCase(
        "absence-ends-before-it-starts",
        "/employees/{employee}/",
        {"starts_on": "2030-05-10", "ends_on": "2030-05-01"},
        "Add absence",
        "ends_on",
    ),
    FormCase("absence-no-start", "/employees/{employee}/", {"starts_on": ""}, "Add absence", "starts_on"),
]


@pytest.fixture
def small_agency(agency: Any, bob: Any) -> dict[str, Any]:
    """Employees (one with an absence), a template with work areas, an event made from it
    with invitations in every status and a placement, messages both ways, and a completed
    event of yesterday with a placement (its board takes hours)."""
    people = [agency.employee(name) for name in ("Ada", "Ben", "Cem", "Dora", "Emil", "Fynn")]
    template = event_create(
        actor=agency.actor, title="Messe Vorlage", start_time=time(9, 0), end_time=time(17, 0),
        hourly_rate=Decimal("15.00"), employees_needed=2, employees_to_ask=4, is_template=True,
    )  # fmt: skip
    agency.area(template, "Bar", capacity=2)
    agency.area(template, "Garderobe", capacity=1)
    event = event_create_from_template(
        actor=agency.actor, template_id=template.pk, event_date=agency_date(10), title="Messe"
    )
    event = event_transition(
        actor=agency.actor, event_id=event.pk, expected_version=event.version, to_status="recruiting"
    )
    invitations = {}
    for person, status in zip(
        people, ("asked", "accepted", "waitlisted", "declined", "expired", "cancelled"), strict=True
    ):
        invitation = invitation_create(actor=agency.actor, event_id=event.pk, employee_id=person.pk)
        if status != "asked":
            invitation = invitation_set_status(
                actor=agency.actor,
                invitation_id=invitation.pk,
                expected_version=invitation.version,
                status=status,
            )
        invitations[status] = invitation
    area = event.work_areas.get(name="Bar")
    accepted = invitations["accepted"]
    assignment_create(
        actor=agency.actor, work_area_id=area.pk, role_id=people[1].primary_role_id, invitation_id=accepted.pk
    )
    for n, (person, invitation) in enumerate(((people[0], invitations["asked"]), (people[1], accepted))):
        OutboundMessage.objects.create(
            employee=person, event=event, invitation=invitation, kind="invitation", intent_key=f"sweep-{n}",
            to_number=person.phone_number, body=f"Messe? {person.name}", provider="simulator",
        )  # fmt: skip
    InboundMessage.objects.create(
        provider_sid="SMsweep1", from_number=people[1].phone_number, body="ja", employee=people[1],
        invitation=accepted, outcome="applied",
    )  # fmt: skip
    absence_create(
        actor=agency.actor, employee_id=people[1].pk, kind=AbsenceKind.choices[0][0],
        starts_on=agency_date(30), ends_on=agency_date(32), note="Urlaub",
    )  # fmt: skip
    return {
        "employee": people[1].pk,
        "event": event.pk,
        "area": area.pk,
        "asked": invitations["asked"].pk,
        "past_event": past_event(agency).pk,
        "template": template.pk,
        "user": bob.pk,
        "token": employee_link_token(people[1].pk),
    }


def past_event(agency: Any) -> Any:
    """An event of yesterday, 18:00-23:00, with one person placed, completed: its board
    takes hours."""
    event = agency.event("Gala gestern", event_date=agency_date(-1), employees_needed=1, employees_to_ask=1)
    area = agency.area(event, "Bar", capacity=1)
    accepted = agency.accepted(event, agency.employee("Gina"))
    assignment_create(
        actor=agency.actor, work_area_id=area.pk, role_id=agency.bartender.pk, invitation_id=accepted.pk
    )
    event.refresh_from_db()
    return event_transition(
        actor=agency.actor, event_id=event.pk, expected_version=event.version, to_status="completed"
    )


def agency_date(days: int) -> Any:
    from django.utils import timezone

    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def context(browser: Browser, live_server: Any, alice: Any) -> Iterator[BrowserContext]:  # noqa: F811
    created = browser.new_context()
    created.route("**/api/v1/changes*", stand_in_stream)
    sign_in_as(created, alice, live_server.url)
    yield created
    created.close()


def test_every_page_is_clean(live_server: Any, context: BrowserContext, small_agency: dict[str, Any]) -> None:
    watched = Watched(context)
    for path in PAGES:
        page = watched.open(live_server.url + path.format(**small_agency))
        expect(page.locator("main h1").first).to_be_visible()
    watched.assert_clean()


@pytest.mark.parametrize("case", FORMS, ids=[case.id for case in FORMS])
def test_bad_input_shows_the_error_next_to_the_field(
    live_server: Any, context: BrowserContext, small_agency: dict[str, Any], case: FormCase
) -> None:
    watched = Watched(context)
    page = watched.open(live_server.url + case.path.format(**small_agency))
    for name, value in case.fill.items():
        page.locator(f'[name="{name}"]:not([type=hidden])').fill(value)
    for name, value in case.select:
        page.locator(f'[name="{name}"]').select_option(value)
    for name, file_name, content in case.files:
        page.locator(f'[name="{name}"]').set_input_files(
            {"name": file_name, "mimeType": "application/octet-stream", "buffer": content}
        )
    button = page.get_by_role("button", name=case.submit, exact=True)
    button.evaluate("b => { if (b.form) b.form.noValidate = true; }")
    button.click()
    target = page.locator(f'[name="{case.field}"]:not([type=hidden])')
    expect(target).to_have_attribute("aria-invalid", "true")
    container = target.locator("xpath=ancestor::*[contains(concat(' ', @class, ' '), ' field ')][1]")
    expect(container.locator(".errorlist")).to_be_visible()
    expect(container.locator(".errorlist")).not_to_be_empty()
    watched.assert_clean()
