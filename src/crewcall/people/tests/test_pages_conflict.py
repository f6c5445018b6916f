"""The conflict view of the employee form (crewcall.ui.conflicts, web/_conflict.html):
a stale save writes nothing and shows both versions; keep mine, take theirs, merge by
field; a merge that meets yet another change shows the conflict again."""

from __future__ import annotations

from typing import Any

import pytest

from crewcall.people import services
from crewcall.people.models import Employee
from crewcall.testing.conflicts import conflict_form, conflict_post

pytestmark = pytest.mark.django_db


def form_data(agency: Any, employee: Employee, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": employee.name,
        "phone_number": employee.phone_number,
        "primary_role": employee.primary_role_id,
        "employment_type": employee.employment_type,
        "preferred_language": employee.preferred_language,
        "notes": employee.notes,
        "skills": [s.pk for s in employee.skills.all()],
        "version": employee.version,
    }
    if employee.is_always_needed:
        data["is_always_needed"] = "on"
    data.update(overrides)
    return data


@pytest.fixture
def setup(agency: Any) -> dict[str, Any]:
    wine = services.skill_create(actor=agency.actor, key="wine", name="Wine")
    beer = services.skill_create(actor=agency.actor, key="beer", name="Beer")
    anna = agency.employee("Anna Alt", notes="old", skills=[wine])
    return {"anna": anna, "wine": wine, "beer": beer}


def _stale_save(as_bob: Any, agency: Any, setup: dict[str, Any]) -> tuple[Any, Employee]:
    """Bob edits name, notes and skills from version read; meanwhile a colleague changed
    the name, the skills and the always-needed flag."""
    anna, wine, beer = setup["anna"], setup["wine"], setup["beer"]
    mine = form_data(agency, anna, name="Anna Mine", notes="mine", skills=[wine.pk, beer.pk])
    services.employee_update(
        actor=agency.actor,
        employee_id=anna.pk,
        expected_version=anna.version,
        changes={"name": "Anna Theirs", "is_always_needed": True},
        skills=[],
    )
    response = as_bob.post(f"/employees/{anna.pk}/edit", mine)
    assert response.status_code == 200
    anna.refresh_from_db()
    return response, anna


def test_a_stale_save_writes_nothing_and_shows_both_versions(as_bob, agency, setup) -> None:
    response, anna = _stale_save(as_bob, agency, setup)
    assert response.templates[0].name == "people/conflict.html"
    rows = {row.name: row for row in response.context["conflict"].rows}
    assert (rows["name"].theirs, rows["name"].yours) == ("Anna Theirs", "Anna Mine")
    assert (rows["notes"].theirs, rows["notes"].yours) == ("old", "mine")
    assert (rows["skills"].theirs, rows["skills"].yours) == ("—", "Beer, Wine")  # one field, sorted
    assert (rows["is_always_needed"].theirs, rows["is_always_needed"].yours) == ("yes", "no")
    assert [name for name, row in rows.items() if row.differs] == [
        "name", "skills", "is_always_needed", "notes"
    ]  # fmt: skip
    assert not rows["phone_number"].differs and not rows["primary_role"].differs
    assert (anna.name, anna.notes, list(anna.skills.all())) == ("Anna Theirs", "old", [])
    html = response.content.decode()
    assert 'id="conflict"' in html and "Save merged" in html
    assert f'name="version" value="{anna.version}"' in html  # the version the view shows
    # Every differing field offers both, labelled; the others offer no choice.
    form = conflict_form(response)
    assert set(form.radios) == {"pick-name", "pick-skills", "pick-is_always_needed", "pick-notes"}
    assert all(values == ["theirs", "mine"] for values in form.radios.values())
    assert '<label class="pick" for="pick-notes-theirs">' in html


def test_keep_mine_saves_my_values_over_theirs(as_bob, agency, setup) -> None:
    response, anna = _stale_save(as_bob, agency, setup)
    saved = as_bob.post(f"/employees/{anna.pk}/edit", conflict_post(response, "mine", name="theirs"))
    assert saved.status_code == 302 and saved["Location"] == f"/employees/{anna.pk}/"
    anna.refresh_from_db()
    assert (anna.name, anna.notes, anna.is_always_needed) == ("Anna Mine", "mine", False)
    assert sorted(s.key for s in anna.skills.all()) == ["beer", "wine"]


def test_take_theirs_leads_to_the_stored_employee_and_writes_nothing(as_bob, agency, setup) -> None:
    response, anna = _stale_save(as_bob, agency, setup)
    assert f'class="take-theirs" href="/employees/{anna.pk}/"' in response.content.decode()
    page = as_bob.get(f"/employees/{anna.pk}/")
    assert "Anna Theirs" in page.content.decode()
    stored = Employee.objects.get(pk=anna.pk)
    assert (stored.version, stored.name, stored.notes) == (anna.version, "Anna Theirs", "old")


def test_a_merge_saves_the_value_chosen_for_each_field(as_bob, agency, setup) -> None:
    response, anna = _stale_save(as_bob, agency, setup)
    data = conflict_post(response, "merge", name="theirs", skills="mine", is_always_needed="theirs")
    saved = as_bob.post(f"/employees/{anna.pk}/edit", data)  # notes: mine, as checked
    assert saved.status_code == 302
    anna.refresh_from_db()
    assert (anna.name, anna.notes, anna.is_always_needed) == ("Anna Theirs", "mine", True)
    assert sorted(s.key for s in anna.skills.all()) == ["beer", "wine"]
    # The other way round, from a fresh conflict: their (empty) skills, my name.
    services.employee_update(actor=agency.actor, employee_id=anna.pk, expected_version=anna.version,
                             changes={"notes": "again"}, skills=[])  # fmt: skip
    stale = form_data(agency, anna, name="Anna Zwei", skills=[setup["wine"].pk])
    response = as_bob.post(f"/employees/{anna.pk}/edit", stale)
    data = conflict_post(response, "merge", name="mine", skills="theirs", notes="theirs")
    assert as_bob.post(f"/employees/{anna.pk}/edit", data).status_code == 302
    anna.refresh_from_db()
    assert (anna.name, anna.notes, list(anna.skills.all())) == ("Anna Zwei", "again", [])


def test_a_merge_that_meets_another_change_shows_the_conflict_again(as_bob, agency, setup) -> None:
    response, anna = _stale_save(as_bob, agency, setup)
    data = conflict_post(response, "merge", name="theirs", skills="theirs")
    services.employee_update(  # yet another colleague, while Bob was choosing
        actor=agency.actor, employee_id=anna.pk, expected_version=anna.version, changes={"notes": "third"}
    )
    again = as_bob.post(f"/employees/{anna.pk}/edit", data)
    assert again.status_code == 200 and again.templates[0].name == "people/conflict.html"
    rows = {row.name: row for row in again.context["conflict"].rows}
    # "Yours" is now the merge Bob chose; "theirs" the newest save.
    assert (rows["name"].yours, rows["skills"].yours, rows["notes"].yours) == ("Anna Theirs", "—", "mine")
    assert rows["notes"].theirs == "third" and not rows["name"].differs
    stored = Employee.objects.get(pk=anna.pk)
    assert (stored.name, stored.notes) == ("Anna Theirs", "third")  # nothing lost, nothing written
    assert again.context["conflict"].version == stored.version
    assert as_bob.post(f"/employees/{anna.pk}/edit", conflict_post(again, "merge")).status_code == 302
    stored.refresh_from_db()
    assert stored.notes == "mine"


def test_a_viewer_cannot_post_a_resolution(client, carol, agency, setup) -> None:
    anna = setup["anna"]
    client.force_login(carol)
    data = {"resolve": "mine", "version": anna.version, "mine-name": "Hacked"}
    assert client.post(f"/employees/{anna.pk}/edit", data).status_code == 403
    anna.refresh_from_db()
    assert anna.name == "Anna Alt"


def _opened_form(as_bob: Any, employee: Employee) -> dict[str, list[str]]:
    """The edit form as the page gives it: every input, the hidden base values included."""
    from html.parser import HTMLParser

    class Inputs(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.data: dict[str, list[str]] = {}

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = {name: value or "" for name, value in attrs}
            if tag == "input" and found.get("name", "").startswith("base-"):
                self.data.setdefault(found["name"], []).append(found.get("value", ""))

    page = Inputs()
    page.feed(as_bob.get(f"/employees/{employee.pk}/edit").content.decode())
    return page.data


def test_the_merge_is_three_way_a_colleagues_field_survives(as_bob, agency, setup) -> None:
    anna = setup["anna"]
    opened = _opened_form(as_bob, anna)
    assert opened["base-employment_type"] == [anna.employment_type] and opened["base-notes"] == ["old"]
    # A colleague changes the employment type and the name; Bob, from the form he opened,
    # changes only the notes and the name.
    services.employee_update(actor=agency.actor, employee_id=anna.pk, expected_version=anna.version,
                             changes={"employment_type": "freelance", "name": "Anna Theirs"})  # fmt: skip
    mine = {**form_data(agency, anna, notes="mine", name="Anna Mine"), **opened}
    response = as_bob.post(f"/employees/{anna.pk}/edit", mine)
    found = response.context["conflict"]
    assert found.three_way
    rows = {row.name: row for row in found.rows}
    assert (rows["employment_type"].base, rows["employment_type"].theirs) == ("Part time", "Freelance")
    assert rows["employment_type"].pick == "theirs"  # only they changed it
    assert rows["notes"].pick == "mine"  # only Bob did
    assert rows["name"].pick is None  # both did: Bob chooses
    html = response.content.decode()
    assert "When you opened it" in html and "both changed" in html
    form = conflict_form(response)
    assert form.checked == {"pick-employment_type": "theirs", "pick-notes": "mine"}
    saved = as_bob.post(f"/employees/{anna.pk}/edit", conflict_post(response, "merge", name="theirs"))
    assert saved.status_code == 302
    anna.refresh_from_db()
    assert (anna.employment_type, anna.notes, anna.name) == ("freelance", "mine", "Anna Theirs")


def test_the_control_without_a_base_the_merge_is_two_way(as_bob, agency, setup) -> None:
    # A post from a page without base values (or the view before three-way merging):
    # every differing field pre-chosen "mine", which reverts the colleague's field.
    anna = setup["anna"]
    services.employee_update(actor=agency.actor, employee_id=anna.pk, expected_version=anna.version,
                             changes={"employment_type": "freelance"})  # fmt: skip
    response = as_bob.post(f"/employees/{anna.pk}/edit", form_data(agency, anna, notes="mine"))
    assert not response.context["conflict"].three_way
    assert conflict_form(response).checked["pick-employment_type"] == "mine"
