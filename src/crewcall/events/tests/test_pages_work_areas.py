"""The work-area editor through Django's test client: add, edit (with the version read),
deactivate, delete; the check while typing (errors only, nothing written); stale saves;
who may do what; and that the Python copy of the work-area rules agrees with the
database trigger that holds them too."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from crewcall.conftest import Agency
from crewcall.events.forms import parse_role_requirements
from crewcall.events.models import WorkArea
from crewcall.events.services import work_area_problems, work_area_update
from crewcall.people.services import skill_create
from crewcall.staffing.placement import assignment_create

pytestmark = [pytest.mark.django_db]


def new_url(event: Any, rest: str = "new") -> str:
    return f"/events/{event.pk}/work-areas/{rest}"


def area_url(area: Any, rest: str = "edit") -> str:
    return f"/events/{area.event_id}/work-areas/{area.pk}/{rest}"


def form(**values: Any) -> dict[str, Any]:
    data = {
        "name": "Bar",
        "max_capacity": "3",
        "role_requirements": "",
        "priority": "medium",
        "is_active": "on",
    }
    data.update(values)
    return data


def errors_of(body: str, field: str) -> str:
    """The text of the error part of `field` in a page or a validate answer."""
    start = body.index(f'id="wa-err-{field}"')
    return body[start : body.index("</div>", start)]


def test_a_dispatcher_adds_a_work_area_with_roles_and_skills(client, bob, agency: Agency) -> None:
    event = agency.event()
    wine = skill_create(actor=bob, key="wine", name="Wine")
    client.force_login(bob)
    page = client.get(new_url(event)).content.decode()
    assert f'hx-post="/events/{event.pk}/work-areas/validate"' in page
    assert 'hx-trigger="input delay:300ms"' in page and 'hx-swap="none"' in page
    for label in ("Name", "Capacity", "Roles needed", "Priority", "Required skills"):
        assert f">{label}<" in page
    response = client.post(
        new_url(event),
        form(role_requirements="bartender: 2, 1 x waiter", required_skills=[wine.pk], priority="high"),
    )
    assert response.status_code == 302 and response["Location"].endswith(
        f"/events/{event.pk}/board/#work-areas"
    )
    area = WorkArea.objects.get(event=event)
    assert (area.name, area.max_capacity, area.priority, area.is_active) == ("Bar", 3, "high", True)
    assert area.role_requirements == {"bartender": 2, "waiter": 1}
    assert list(area.required_skills.values_list("key", flat=True)) == ["wine"]
    board = client.get(f"/events/{event.pk}/board/").content.decode()
    assert "Work area Bar added." in board
    assert f'href="/events/{event.pk}/work-areas/{area.pk}/edit"' in board
    assert f'href="/events/{event.pk}/work-areas/new"' in board


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"max_capacity": "0"}, "max_capacity", "This must be at least 1."),
        ({"max_capacity": "two"}, "max_capacity", "Enter a whole number."),
        ({"role_requirements": "juggler: 1"}, "role_requirements", "&quot;juggler&quot; is not a role"),
        ({"role_requirements": "bartender: 2, waiter: 2"}, "role_requirements", "add up to 4, more than"),
        ({"role_requirements": "bartender: 0"}, "role_requirements", "must be a positive whole number"),
        ({"role_requirements": "lots of bartenders"}, "role_requirements", "Write each role with its count"),
        ({"name": "   "}, "name", "This field is required."),
    ],
)
def test_bad_input_comes_back_beside_its_field_and_writes_nothing(
    client, bob, agency: Agency, values: dict[str, str], field: str, text: str
) -> None:
    event = agency.event()
    client.force_login(bob)
    response = client.post(new_url(event), form(**values))
    assert response.status_code == 200
    assert text in errors_of(response.content.decode(), field)
    assert not WorkArea.objects.filter(event=event).exists()


def test_validate_while_typing_answers_with_the_error_parts_only(client, bob, agency: Agency) -> None:
    event = agency.event()
    agency.area(event, "Kitchen")
    client.force_login(bob)
    validate = new_url(event, "validate")
    bad = client.post(
        validate,
        form(name="kitchen", max_capacity="2", role_requirements="bartender: 2, juggler: 1"),
        headers={"HX-Request": "true"},
    )
    body = bad.content.decode()
    assert bad.status_code == 200 and "<form" not in body and "<input" not in body
    assert body.count('hx-swap-oob="true"') == 6  # every field's part, so fixed ones clear
    assert "already has a work area with this name" in errors_of(body, "name")
    roles = errors_of(body, "role_requirements")
    assert "&quot;juggler&quot; is not a role in the catalogue." in roles
    assert "add up to 3, more than the capacity of 2" in roles
    assert "<li>" not in errors_of(body, "max_capacity")
    # Fixed: every part empty. A field not typed yet is not nagged about.
    good = client.post(validate, form(name="", max_capacity="3", role_requirements="bartender: 2"))
    assert good.status_code == 200 and "<li>" not in good.content.decode()
    low = client.post(validate, form(max_capacity="0"))
    assert "This must be at least 1." in errors_of(low.content.decode(), "max_capacity")
    assert WorkArea.objects.filter(event=event).count() == 1


def test_validating_an_existing_area_knows_who_is_placed_there(client, bob, agency: Agency) -> None:
    event = agency.event(employees_needed=3, employees_to_ask=3)
    area = agency.area(event, "Bar", capacity=3, role_requirements={"bartender": 2})
    for name in ("Ada", "Ben"):
        inv = agency.accepted(event, agency.employee(name))
        assignment_create(actor=bob, invitation_id=inv.pk, work_area_id=area.pk, role_id=agency.bartender.pk)
    client.force_login(bob)
    body = client.post(
        area_url(area, "validate"), form(max_capacity="1", role_requirements="bartender: 1")
    ).content.decode()
    assert "2 people are already placed here" in errors_of(body, "max_capacity")
    assert "2 bartender are already placed here" in errors_of(body, "role_requirements")
    # Its own name is no duplicate.
    assert "<li>" not in errors_of(body, "name")
    # Saving the same values is refused with the same words.
    page = client.post(
        area_url(area), form(version=area.version, max_capacity="1", role_requirements="")
    ).content
    assert "2 people are already placed here" in errors_of(page.decode(), "max_capacity")
    area.refresh_from_db()
    assert area.max_capacity == 3


def test_edit_saves_with_the_version_read_and_deactivates(client, bob, agency: Agency) -> None:
    event = agency.event()
    area = agency.area(event, "Bar", capacity=2, role_requirements={"bartender": 1})
    client.force_login(bob)
    page = client.get(area_url(area)).content.decode()
    assert f'name="version" value="{area.version}"' in page
    assert 'value="1 \N{MULTIPLICATION SIGN} bartender"' in page
    response = client.post(
        area_url(area), form(version=area.version, name="Cocktail bar", max_capacity="4", is_active="")
    )
    assert response.status_code == 302
    area.refresh_from_db()
    assert (area.name, area.max_capacity, area.is_active, area.role_requirements) == (
        "Cocktail bar",
        4,
        False,
        {},
    )
    board = client.get(f"/events/{event.pk}/board/").content.decode()
    assert "Work area Cocktail bar saved." in board and "(inactive)" in board


def conflict_post(body: str, **extra: str) -> dict[str, list[str]]:
    """What the conflict view's form posts: its hidden inputs (both sides, the version
    shown) plus `extra` (the button, the picks)."""
    start = body.index('class="conflict-form"')
    part = body[start : body.index("</form>", start)]
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', part):
        data.setdefault(html.unescape(name), []).append(html.unescape(value))
    for name, value in extra.items():
        data[name] = [value]
    return data


def row_of(body: str, field: str) -> str:
    start = body.index(f'<tr data-field="{field}"')
    return body[start : body.index("</tr>", start)]


@pytest.fixture
def stale(client, bob, agency: Agency) -> Any:
    """Bob read Bar (capacity 2, no roles, no skills); meanwhile someone saved capacity 5,
    two bartenders and the skill wine. Bob now saves his own values with the old version."""
    event = agency.event()
    area = agency.area(event, "Bar", capacity=2)
    wine = skill_create(actor=bob, key="wine", name="Wine")
    beer = skill_create(actor=bob, key="beer", name="Beer")
    read = area.version
    work_area_update(
        actor=bob,
        work_area_id=area.pk,
        expected_version=read,
        changes={"max_capacity": 5, "role_requirements": {"bartender": 2}},
        required_skills=[wine],
    )
    area.refresh_from_db()
    client.force_login(bob)
    mine = form(
        version=read,
        name="Cocktail bar",
        max_capacity="3",
        role_requirements="waiter: 1",
        required_skills=[beer.pk],
    )
    response = client.post(area_url(area), mine)
    return area, response, wine, beer


def stored(area: WorkArea) -> tuple[Any, ...]:
    area.refresh_from_db()
    skills = sorted(area.required_skills.values_list("key", flat=True))
    return area.name, area.max_capacity, area.role_requirements, skills


def test_a_stale_save_shows_both_versions_side_by_side_and_writes_nothing(stale: Any) -> None:
    area, response, wine, beer = stale
    body = response.content.decode()
    assert response.status_code == 200 and 'id="conflict-title"' in body
    assert "Someone else saved a change meanwhile" in body
    assert stored(area) == ("Bar", 5, {"bartender": 2}, ["wine"])
    # The shared conflict view in place of the form (one conflict view in the app).
    assert 'id="work-area-form"' not in body and 'class="conflict-form"' in body
    assert f'action="{area_url(area)}"' in body
    assert f'name="version" value="{area.version}"' in body
    assert f"You edited version {area.version - 1}, but it is now at version {area.version}." in body
    for field, theirs, yours in [
        ("name", "Bar", "Cocktail bar"),
        ("max_capacity", "5", "3"),
        ("role_requirements", "bartender: 2", "waiter: 1"),
        ("required_skills", "Wine", "Beer"),
    ]:
        their_cell, your_cell = row_of(body, field).split('<td class="yours">')
        assert 'class="differs"' in their_cell and '<td class="theirs">' in their_cell, field
        assert f'<span class="value">{theirs}</span>' in their_cell
        assert f'<span class="value">{yours}</span>' in your_cell
        assert f'name="pick-{field}"' in your_cell
    for field in ("priority", "is_active"):
        assert 'class="differs"' not in row_of(body, field)
    # Both sides ride along as hidden inputs: the typed role text and the skill ids.
    posted = conflict_post(body)
    assert posted["mine-role_requirements"] == ["waiter: 1"]
    assert posted["theirs-role_requirements"] == ["2 \N{MULTIPLICATION SIGN} bartender"]
    assert posted["mine-required_skills"] == [str(beer.pk)]
    assert posted["theirs-required_skills"] == [str(wine.pk)]
    assert posted["mine-is_active"] == posted["theirs-is_active"] == ["on"]


def test_keep_mine_saves_all_of_mine_against_the_version_shown(client, stale: Any) -> None:
    area, response, _wine, _beer = stale
    keep = client.post(area_url(area), conflict_post(response.content.decode(), resolve="mine"))
    assert keep.status_code == 302 and keep["Location"].endswith("#work-areas")
    assert stored(area) == ("Cocktail bar", 3, {"waiter": 1}, ["beer"])


def test_merge_by_field_stores_the_picked_side_of_each_field(client, stale: Any) -> None:
    area, response, _wine, _beer = stale
    picks = {
        "resolve": "merge",
        "pick-name": "mine",
        "pick-max_capacity": "theirs",
        "pick-role_requirements": "mine",
        "pick-required_skills": "theirs",
    }
    merged = client.post(area_url(area), conflict_post(response.content.decode(), **picks))
    assert merged.status_code == 302
    assert stored(area) == ("Cocktail bar", 5, {"waiter": 1}, ["wine"])
    assert area.is_active is True and area.priority == "medium"


def test_a_merge_the_rules_refuse_comes_back_as_the_form(client, bob, agency: Agency) -> None:
    """My capacity 1 with their two bartenders: the merged values go through the same rules."""
    area = agency.area(agency.event(), "Bar", capacity=2)
    read = area.version
    work_area_update(
        actor=bob,
        work_area_id=area.pk,
        expected_version=read,
        changes={"max_capacity": 5, "role_requirements": {"bartender": 2}},
    )
    client.force_login(bob)
    shown = client.post(area_url(area), form(version=read, max_capacity="1")).content.decode()
    picks = {"resolve": "merge", "pick-max_capacity": "mine", "pick-role_requirements": "theirs"}
    page = client.post(area_url(area), conflict_post(shown, **picks))
    body = page.content.decode()
    assert page.status_code == 200 and 'id="work-area-form"' in body
    assert "more than the capacity of 1" in errors_of(body, "role_requirements")
    assert stored(area) == ("Bar", 5, {"bartender": 2}, [])


def test_a_save_meanwhile_during_the_conflict_view_conflicts_again(client, bob, stale: Any) -> None:
    area, response, _wine, _beer = stale
    work_area_update(
        actor=bob, work_area_id=area.pk, expected_version=area.version, changes={"priority": "high"}
    )
    again = client.post(area_url(area), conflict_post(response.content.decode(), resolve="mine"))
    body = again.content.decode()
    assert again.status_code == 200 and 'id="conflict-title"' in body
    assert '<span class="value">High</span>' in row_of(body, "priority")
    area.refresh_from_db()
    assert (area.name, area.priority) == ("Bar", "high")


def test_delete_removes_an_empty_area_and_refuses_one_with_people(client, bob, agency: Agency) -> None:
    event = agency.event()
    empty = agency.area(event, "Empty")
    busy = agency.area(event, "Busy")
    inv = agency.accepted(event, agency.employee("Ada"))
    assignment_create(actor=bob, invitation_id=inv.pk, work_area_id=busy.pk, role_id=agency.bartender.pk)
    client.force_login(bob)
    stale = client.post(area_url(empty, "delete"), {"version": empty.version + 1}, follow=True)
    assert "changed by someone else" in stale.content.decode()
    gone = client.post(area_url(empty, "delete"), {"version": empty.version}, follow=True)
    assert "Work area Empty deleted." in gone.content.decode()
    refused = client.post(area_url(busy, "delete"), {"version": busy.version}, follow=True)
    assert "People are placed here; move them first." in refused.content.decode()
    assert list(WorkArea.objects.filter(event=event).values_list("name", flat=True)) == ["Busy"]


def test_viewers_get_403_and_nothing_changes(client, carol, agency: Agency) -> None:
    event = agency.event()
    area = agency.area(event, "Bar")
    client.force_login(carol)
    assert client.get(new_url(event)).status_code == 403
    assert client.post(new_url(event), form(name="X")).status_code == 403
    assert client.post(new_url(event, "validate"), form()).status_code == 403
    assert client.post(area_url(area), form(version=area.version, name="Y")).status_code == 403
    assert client.post(area_url(area, "delete"), {"version": area.version}).status_code == 403
    assert list(WorkArea.objects.values_list("name", flat=True)) == ["Bar"]
    board = client.get(f"/events/{event.pk}/board/").content.decode()
    assert "/work-areas/" not in board


def test_an_area_of_another_event_or_a_missing_one_is_404(client, bob, agency: Agency) -> None:
    gala, fair = agency.event("Gala"), agency.event("Fair")
    area = agency.area(fair)
    client.force_login(bob)
    assert client.get(f"/events/{gala.pk}/work-areas/{area.pk}/edit").status_code == 404
    assert client.post(f"/events/{gala.pk}/work-areas/{area.pk}/validate", form()).status_code == 404
    assert client.get("/events/999999/work-areas/new").status_code == 404


def test_the_role_text_parses_in_every_way_it_is_written() -> None:
    assert parse_role_requirements("2 x bartender; waiter: 1\ncook=3, 4 runner") == {
        "bartender": 2,
        "waiter": 1,
        "cook": 3,
        "runner": 4,
    }
    assert parse_role_requirements("2 \N{MULTIPLICATION SIGN} bartender") == {"bartender": 2}
    assert parse_role_requirements(" , ") == {}


# ── the rules in Python agree with the trigger ─────────────────────────────


@pytest.mark.parametrize(
    ("capacity", "requirements", "placed", "constraint"),
    [
        (3, {"bartender": 2, "waiter": 1}, 2, ""),
        (3, {}, 0, ""),
        (2, {"bartender": 2, "waiter": 1}, 0, "events_workarea__role_requirements__within_capacity"),
        (5, {"juggler": 1}, 0, "events_workarea__role_requirements__known_role"),
        (0, {}, 0, "events_workarea__max_capacity__positive"),
        (1, {"bartender": 1}, 2, "events_workarea__max_capacity__above_assigned"),
        (4, {"bartender": 1}, 2, "events_workarea__role_requirements__above_assigned"),
    ],
)
def test_work_area_problems_refuse_what_the_database_refuses(
    agency: Agency, bob, capacity: int, requirements: dict[str, int], placed: int, constraint: str
) -> None:
    event = agency.event(employees_needed=2, employees_to_ask=2)
    area = agency.area(event, "Bar", capacity=4)
    for name in ("Ada", "Ben")[:placed]:
        inv = agency.accepted(event, agency.employee(name))
        assignment_create(actor=bob, invitation_id=inv.pk, work_area_id=area.pk, role_id=agency.bartender.pk)
    problems = work_area_problems(
        event_id=event.pk,
        work_area_id=area.pk,
        name="Bar",
        max_capacity=capacity,
        role_requirements=requirements,
    )
    assert [p.constraint for p in problems][:1] == ([constraint] if constraint else [])
    # The database's own verdict on the same values, past the Python check (raw SQL).
    expected = DatabaseError if constraint else _RolledBack
    with pytest.raises(expected) as verdict, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_workarea SET max_capacity = %s, role_requirements = %s::jsonb WHERE id = %s",
            [capacity, json.dumps(requirements), area.pk],
        )
        raise _RolledBack  # accepted: undo it
    if constraint:
        assert verdict.value.__cause__.diag.constraint_name == constraint  # type: ignore[union-attr]


class _RolledBack(Exception):
    """Undoes a statement the database accepted."""


def test_the_event_page_links_to_the_editor_for_dispatchers_only(client, bob, carol, agency: Agency) -> None:
    event = agency.event()
    area = agency.area(event, "Bar")
    client.force_login(bob)
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert f'href="/events/{event.pk}/work-areas/new"' in page
    assert f'href="/events/{event.pk}/work-areas/{area.pk}/edit"' in page
    client.force_login(carol)
    assert "/work-areas/" not in client.get(f"/events/{event.pk}/").content.decode()
