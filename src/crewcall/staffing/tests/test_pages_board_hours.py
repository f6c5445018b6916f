"""Hours after the event on the staffing board (Django's test client): a row per placed
person, save (create, then update with the version), night shifts, approve, the event's
totals and the employee's own total; bad input beside its field, stale versions, viewers
and events that take no hours yet; bounded queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crewcall.conftest import Agency
from crewcall.events.models import Event
from crewcall.staffing.event_lifecycle import event_transition
from crewcall.staffing.models import WorkLog
from crewcall.staffing.placement import assignment_create
from crewcall.staffing.services import work_log_create, work_log_update

pytestmark = [pytest.mark.django_db]
HX = {"HX-Request": "true"}


def board_url(event: Any, rest: str = "") -> str:
    return f"/events/{event.pk}/board/{rest}"


def yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


def completed_event(
    agency: Agency, names: tuple[str, ...], *, complete: bool = True
) -> tuple[Event, list[Any]]:
    """An event of yesterday with `names` placed in its bar, then completed."""
    event = agency.event(
        "Gala", event_date=yesterday(), employees_needed=len(names), employees_to_ask=len(names),
        hourly_rate=Decimal("20.00"),
    )  # fmt: skip
    area = agency.area(event, "Bar", capacity=max(len(names), 1))
    crew = []
    for name in names:
        person = agency.employee(name)
        inv = agency.accepted(event, person)
        assignment_create(
            actor=agency.actor, invitation_id=inv.pk, work_area_id=area.pk, role_id=agency.bartender.pk
        )
        crew.append(person)
    if complete:
        event.refresh_from_db()
        event = event_transition(
            actor=agency.actor, event_id=event.pk, expected_version=event.version, to_status="completed"
        )
    return event, crew


def hours(start: str = "18:00", end: str = "23:00", pause: str = "30", **kw: Any) -> dict[str, Any]:
    return {"start": start, "end": end, "break_minutes": pause, "note": "", **kw}


def row_html(body: str, employee: Any) -> str:
    start = body.index(f'data-hours-employee="{employee.pk}"')
    end = body.find('class="hours-row"', start)
    return body[start : end if end != -1 else len(body)]


def test_a_completed_event_shows_a_row_per_placed_person_with_the_events_times(client, bob, agency) -> None:
    event, (ada, _ben) = completed_event(agency, ("Ada", "Ben"))
    client.force_login(bob)
    page = client.get(board_url(event)).content.decode()
    assert (
        'id="board-hours"' in page and 'data-live="staffing_worklog events_assignment events_event"' in page
    )
    assert page.count('class="hours-row"') == 2
    ada_row = row_html(page, ada)
    for label in ("Start", "End", "Break (minutes)", "Note"):
        assert f">{label}</label>" in ada_row
    assert (
        f'id="hours-{ada.pk}-start"' in ada_row and 'value="18:00"' in ada_row and 'value="23:00"' in ada_row
    )
    assert "Save hours" in ada_row and "Approve" not in ada_row
    assert 'data-fact="total-hours">0<' in page


def test_saving_records_the_hours_and_the_employee_total_follows(client, bob, agency) -> None:
    event, (ada, _ben) = completed_event(agency, ("Ada", "Ben"))
    client.force_login(bob)
    response = client.post(board_url(event, f"hours/{ada.pk}"), hours(), headers=HX)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div class="hours-row"')
    log = WorkLog.objects.get(event=event, employee=ada)
    assert log.hours == Decimal("4.50") and log.break_minutes == 30
    assert timezone.localtime(log.started_at).date() == yesterday()
    assert 'data-fact="hours">4.50<' in body and 'data-fact="employee-total">4.50<' in body
    assert 'id="hours-totals" class="facts hours-totals" hx-swap-oob="true"' in body
    assert 'data-fact="total-hours">4.50<' in body and 'data-fact="total-cost">90.00<' in body
    assert f'name="version" value="{log.version}"' in body and ">Approve<" in body
    detail = client.get(f"/employees/{ada.pk}/").content.decode()
    assert "<dt>Hours worked</dt><dd>4.50</dd>" in detail
    # Saving again updates the entry (with its version); the total follows.
    again = client.post(
        board_url(event, f"hours/{ada.pk}"), hours(end="22:00", pause="0", version=log.version), headers=HX
    )
    assert 'data-fact="hours">4.00<' in again.content.decode()
    assert WorkLog.objects.get(pk=log.pk).hours == Decimal("4.00")
    assert "<dt>Hours worked</dt><dd>4.00</dd>" in client.get(f"/employees/{ada.pk}/").content.decode()


def test_an_end_before_the_start_is_the_next_morning(client, bob, agency) -> None:
    event, (ada,) = completed_event(agency, ("Ada",))
    client.force_login(bob)
    client.post(board_url(event, f"hours/{ada.pk}"), hours(start="22:00", end="02:30", pause="0"), headers=HX)
    log = WorkLog.objects.get(event=event, employee=ada)
    assert log.hours == Decimal("4.50")
    assert timezone.localtime(log.ended_at).date() == timezone.localdate()


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        (hours(start="", end="23:00"), "start", "This field is required."),
        (hours(start="25:00"), "start", "Enter a valid time."),
        (hours(pause="-5"), "break_minutes", "The break cannot be negative."),
        (
            hours(start="18:00", end="19:00", pause="60"),
            "break_minutes",
            "The break must be shorter than the shift.",
        ),
        (hours(pause="many"), "break_minutes", "Enter a whole number."),
        # Implausible shifts (issue 17): the same start and end was saved as 24 h, an end
        # a minute before the start as 23.98 h; the longest shift is 16 h by default.
        (hours(start="17:00", end="17:00"), "end", "The end must differ from the start."),
        (hours(start="17:00", end="16:59"), "end", "A shift lasts at most 16 hours"),
    ],
)
def test_bad_input_comes_back_beside_its_field(
    client, bob, agency, values: dict[str, Any], field: str, text: str
) -> None:
    event, (ada,) = completed_event(agency, ("Ada",))
    client.force_login(bob)
    body = client.post(board_url(event, f"hours/{ada.pk}"), values, headers=HX).content.decode()
    part = body[body.index(f'data-field="{field}"') :]
    part = part[: part.index("</div>")]
    assert "field-invalid" in body and text in part
    assert not WorkLog.objects.exists()


def test_a_stale_save_keeps_what_was_typed_and_shows_what_is_saved(client, bob, agency) -> None:
    event, (ada,) = completed_event(agency, ("Ada",))
    start = timezone.make_aware(dt.datetime.combine(yesterday(), dt.time(18)))
    log = work_log_create(actor=bob, event_id=event.pk, employee_id=ada.pk, started_at=start,
                          ended_at=start + dt.timedelta(hours=5))  # fmt: skip
    read = log.version
    work_log_update(actor=bob, work_log_id=log.pk, expected_version=read, started_at=start,
                    ended_at=start + dt.timedelta(hours=6), break_minutes=0)  # fmt: skip
    client.force_login(bob)
    body = client.post(
        board_url(event, f"hours/{ada.pk}"), hours(end="20:00", pause="0", version=read), headers=HX
    ).content.decode()
    assert "Someone else saved these hours meanwhile" in body and "18:00\N{EN DASH}00:00" in body
    log.refresh_from_db()
    assert log.hours == Decimal("6.00")
    assert f'name="version" value="{log.version}"' in body and 'value="20:00"' in body
    # Typed as a first entry while someone saved one: the same conflict, nothing written.
    first = client.post(board_url(event, f"hours/{ada.pk}"), hours(end="21:00"), headers=HX).content.decode()
    assert "Someone else saved these hours meanwhile" in first and 'value="21:00"' in first
    assert WorkLog.objects.get(pk=log.pk).hours == Decimal("6.00")


def test_approve_with_the_version_and_refuse_a_stale_one(client, bob, agency) -> None:
    event, (ada,) = completed_event(agency, ("Ada",))
    client.force_login(bob)
    client.post(board_url(event, f"hours/{ada.pk}"), hours(), headers=HX)
    log = WorkLog.objects.get(employee=ada)
    stale = client.post(board_url(event, f"hours/{ada.pk}/approve"), {"version": log.version + 1}, headers=HX)
    assert "changed meanwhile" in stale.content.decode()
    assert WorkLog.objects.get(pk=log.pk).approved_at is None
    done = client.post(board_url(event, f"hours/{ada.pk}/approve"), {"version": log.version}, headers=HX)
    body = done.content.decode()
    assert 'data-fact="approved">Approved<' in body and "by bob" in body and ">Approve<" not in body
    assert 'data-fact="hours-approved">1 / 1<' in body
    log.refresh_from_db()
    assert log.approved_by == bob
    # Approved hours are locked: no hours form, a Reopen button; a save is refused.
    assert 'class="hours-form"' not in body and ">Reopen to correct<" in body
    locked = client.post(
        board_url(event, f"hours/{ada.pk}"), hours(pause="0", version=log.version), follow=True
    )
    assert "approved and locked" in locked.content.decode()
    assert WorkLog.objects.get(pk=log.pk).break_minutes == 30
    reopened = client.post(board_url(event, f"hours/{ada.pk}/reopen"), {"version": log.version}, headers=HX)
    body = reopened.content.decode()
    assert 'class="hours-form"' in body and ">Approve<" in body and "Not approved yet" in body
    log.refresh_from_db()
    assert log.approved_at is None and log.approved_by is None
    # Without htmx: back to the board with a message.
    plain = client.post(
        board_url(event, f"hours/{ada.pk}"), hours(pause="0", version=log.version), follow=True
    )
    assert "Hours of Ada saved." in plain.content.decode()
    assert WorkLog.objects.get(pk=log.pk).break_minutes == 0


def test_the_database_keeps_approved_hours_locked(agency) -> None:
    from django.db import IntegrityError, transaction

    from crewcall.staffing.services import work_log_approve

    event, (ada,) = completed_event(agency, ("Ada",))
    start = timezone.make_aware(dt.datetime.combine(yesterday(), dt.time(18)))
    log = work_log_create(
        actor=agency.actor, event_id=event.pk, employee_id=ada.pk, started_at=start,
        ended_at=start + dt.timedelta(hours=5), break_minutes=30,
    )  # fmt: skip
    work_log_approve(actor=agency.actor, work_log_id=log.pk, expected_version=log.version)
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE staffing_worklog SET break_minutes = 0 WHERE id = %s", [log.pk])
    cause: Any = refused.value.__cause__
    assert cause.diag.constraint_name == "staffing_worklog__approved_at__locked"
    with connection.cursor() as cursor:  # the note stays open (erasure blanks it), and so does reopening
        cursor.execute("UPDATE staffing_worklog SET note = 'x' WHERE id = %s", [log.pk])
        cursor.execute(
            "UPDATE staffing_worklog SET approved_at = NULL, approved_by_id = NULL, break_minutes = 0"
            " WHERE id = %s", [log.pk],
        )  # fmt: skip
    assert WorkLog.objects.get(pk=log.pk).hours == Decimal("5.00")


@pytest.mark.parametrize(
    ("shifts", "expected"),
    [
        ([("18:00", "23:00", 0)], []),  # 5 h: no break needed
        ([("14:00", "20:30", 15)], ["More than 6 hours of work need a break of at least 30 minutes"]),
        ([("14:00", "20:30", 30)], []),
        ([("12:00", "22:00", 30)], ["More than 9 hours of work need a break of at least 45 minutes"]),
        ([("12:00", "22:00", 45)], []),
        # Two events on one day: 6 + 5.5 h worked, each shift fine on its own.
        ([("08:00", "14:30", 30), ("16:00", "21:30", 0)], ["11.50 hours of work on"]),
    ],
)
def test_the_working_time_law_warns_beside_the_entry(client, bob, agency, shifts, expected) -> None:
    event, (ada,) = completed_event(agency, ("Ada",))
    client.force_login(bob)
    for number, (start, end, pause) in enumerate(shifts):
        if number:  # a second event the same day, Ada's hours there
            other = agency.event("Late show", event_date=yesterday(), hourly_rate=Decimal("20.00"))
            agency.accepted(other, ada)
            begin = timezone.make_aware(dt.datetime.combine(yesterday(), dt.time.fromisoformat(start)))
            work_log_create(
                actor=agency.actor, event_id=other.pk, employee_id=ada.pk, started_at=begin,
                ended_at=timezone.make_aware(dt.datetime.combine(yesterday(), dt.time.fromisoformat(end))),
                break_minutes=pause,
            )  # fmt: skip
        else:
            saved = client.post(
                board_url(event, f"hours/{ada.pk}"), hours(start, end, str(pause)), headers=HX
            )
            assert saved.status_code == 200
    row = row_html(client.get(board_url(event)).content.decode(), ada)
    shown = row.split('data-fact="warnings"')[1] if 'data-fact="warnings"' in row else ""
    assert bool(shown) == bool(expected), row
    for text in expected:
        assert text in shown


def test_viewers_see_the_hours_but_get_403_on_writes(client, bob, carol, agency) -> None:
    event, (ada,) = completed_event(agency, ("Ada",))
    client.force_login(bob)
    client.post(board_url(event, f"hours/{ada.pk}"), hours(), headers=HX)
    client.force_login(carol)
    page = client.get(board_url(event)).content.decode()
    assert 'data-fact="hours">4.50<' in page and "Save hours" not in page and ">Approve<" not in page
    assert client.post(board_url(event, f"hours/{ada.pk}"), hours(pause="0")).status_code == 403
    log = WorkLog.objects.get()
    assert (
        client.post(board_url(event, f"hours/{ada.pk}/approve"), {"version": log.version}).status_code == 403
    )
    assert log.hours == Decimal("4.50") and WorkLog.objects.get().approved_at is None


def test_no_hours_before_the_event_nor_for_someone_not_placed(client, bob, agency) -> None:
    upcoming = agency.event("Later")
    stranger = agency.employee("Zoe")
    client.force_login(bob)
    assert "Save hours" not in client.get(board_url(upcoming)).content.decode()
    assert client.post(board_url(upcoming, f"hours/{stranger.pk}"), hours()).status_code == 404
    event, _crew = completed_event(agency, ("Ada",))
    assert client.post(board_url(event, f"hours/{stranger.pk}"), hours()).status_code == 404
    # An event under way (staffed, its day has come) takes hours already.
    running, (ben,) = completed_event(agency, ("Ben",), complete=False)
    assert row_html(client.get(board_url(running)).content.decode(), ben)


def test_the_hours_fragment_reads_in_the_same_number_of_queries_for_2_and_25_people(
    client, bob, agency
) -> None:
    def count_for(n: int) -> int:
        event, crew = completed_event(agency, tuple(f"P{n}-{i}" for i in range(n)))
        start = timezone.make_aware(dt.datetime.combine(yesterday(), dt.time(18)))
        for person in crew[::2]:
            work_log_create(actor=bob, event_id=event.pk, employee_id=person.pk, started_at=start,
                            ended_at=start + dt.timedelta(hours=4))  # fmt: skip
        client.force_login(bob)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(board_url(event, "?part=hours"), headers=HX)
        body = response.content.decode()
        assert body.lstrip().startswith('<div id="board-hours"') and body.count('class="hours-row"') == n
        return len(queries)

    assert count_for(2) == count_for(25)
