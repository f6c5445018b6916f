"""The employee pages, server side: list, create, edit (its conflict view: test_pages_conflict.py), detail,
archive / restore / anonymise, absences, and who may do what."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.people import services
from crewcall.people.models import Absence, Employee, EmployeeSkill

pytestmark = pytest.mark.django_db


def form_data(agency: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Nora Neu",
        "phone_number": "+49 151 2345 6789",
        "primary_role": agency.waiter.pk,
        "employment_type": "mini_job",
        "preferred_language": "en",
        "notes": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def as_carol(client: Any, carol: Any) -> Any:
    client.force_login(carol)
    return client


def test_the_list_shows_employees_with_role_skills_type_and_hours(as_bob, agency) -> None:
    skill = services.skill_create(actor=agency.actor, key="cocktails", name="Cocktails")
    agency.employee("Anna Alt", skills=[skill])
    agency.employee("Ben Berg", role=agency.cook, employment_type="freelance")
    page = as_bob.get("/employees/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Anna Alt" in html and "Ben Berg" in html
    assert "Cocktails" in html and "Cook" in html and "Freelance" in html
    assert "+4915100000001" in html
    assert 'data-live="people_employee people_employeeskill' in html
    assert 'href="/employees/new"' in html


def test_the_list_filters_by_search_role_skill_type_and_status(as_bob, agency) -> None:
    skill = services.skill_create(actor=agency.actor, key="wine", name="Wine")
    anna = agency.employee("Anna Alt", skills=[skill])
    agency.employee("Ben Berg", role=agency.cook, employment_type="freelance")
    carl = agency.employee("Carl Cole")
    services.employee_archive(actor=agency.actor, employee_id=carl.pk, expected_version=carl.version)

    def names(**query: Any) -> set[str]:
        page = as_bob.get("/employees/", query)
        return {e.name for e in page.context["employees"]}

    assert names() == {"Anna Alt", "Ben Berg"}
    assert names(q="ann") == {"Anna Alt"}
    assert names(q=anna.phone_number[-4:]) == {"Anna Alt"}
    assert names(role=agency.cook.pk) == {"Ben Berg"}
    assert names(skill=skill.pk) == {"Anna Alt"}
    assert names(employment_type="freelance") == {"Ben Berg"}
    assert names(status="archived") == {"Carl Cole"}
    assert names(status="all") == {"Anna Alt", "Ben Berg", "Carl Cole"}


def test_an_htmx_request_gets_only_the_list_fragment(as_bob, agency) -> None:
    agency.employee("Anna Alt")
    page = as_bob.get("/employees/", {"q": "Anna"}, headers={"HX-Request": "true"})
    html = page.content.decode()
    assert html.lstrip().startswith('<div id="employee-list"')
    assert "Anna Alt" in html and "<html" not in html


def test_the_list_pages_by_name_with_a_more_link(as_bob, agency, monkeypatch) -> None:
    monkeypatch.setattr("crewcall.people.views.pages.PAGE_SIZE", 2)
    for name in ["Dora", "Anna", "Carl", "Ben", "Emil"]:
        agency.employee(name)
    first = as_bob.get("/employees/")
    assert [e.name for e in first.context["employees"]] == ["Anna", "Ben"]
    more = first.context["more_query"]
    second = as_bob.get(f"/employees/?{more}")
    assert [e.name for e in second.context["employees"]] == ["Carl", "Dora"]
    third = as_bob.get(f"/employees/?{second.context['more_query']}")
    assert [e.name for e in third.context["employees"]] == ["Emil"]
    assert third.context["more_query"] is None
    # A cursor the list never gave out starts from the top instead of failing.
    assert as_bob.get("/employees/?after=rubbish").status_code == 200


def test_the_list_runs_the_same_number_of_queries_for_3_and_40_employees(as_bob, agency) -> None:
    skills = [services.skill_create(actor=agency.actor, key=f"s{i}", name=f"Skill {i}") for i in range(3)]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert as_bob.get("/employees/").status_code == 200
        return len(queries)

    for i in range(3):
        agency.employee(f"Small {i}", skills=skills[: i + 1])
    small = count()
    for i in range(37):
        agency.employee(f"Large {i:02}", skills=skills[: i % 3 + 1], role=agency.cook)
    assert count() == small


def test_create_saves_and_shows_the_employee(as_bob, agency) -> None:
    skill = services.skill_create(actor=agency.actor, key="wine", name="Wine")
    response = as_bob.post("/employees/new", form_data(agency, skills=[skill.pk], is_always_needed="on"))
    employee = Employee.objects.get(name="Nora Neu")
    assert response.status_code == 302 and response["Location"] == f"/employees/{employee.pk}/"
    assert employee.phone_number == "+4915123456789" and employee.is_always_needed
    assert list(employee.skills.all()) == [skill]
    page = as_bob.get(response["Location"])
    assert "Nora Neu" in page.content.decode() and "Wine" in page.content.decode()


def test_create_shows_form_errors_next_to_their_fields_and_writes_nothing(as_bob, agency) -> None:
    response = as_bob.post("/employees/new", form_data(agency, name="", primary_role=""))
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"name", "primary_role"}
    html = response.content.decode()
    assert 'data-field="name"' in html and "errorlist" in html
    assert not Employee.objects.exists()


def test_create_shows_the_services_phone_error_on_the_phone_field(as_bob, agency) -> None:
    response = as_bob.post("/employees/new", form_data(agency, phone_number="12"))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["phone_number"]
    assert "is not a valid phone number" in response.context["form"].errors["phone_number"][0]
    assert not Employee.objects.exists()


def test_a_duplicate_phone_number_is_refused_on_its_field(as_bob, agency) -> None:
    taken = agency.employee("Anna Alt")
    response = as_bob.post("/employees/new", form_data(agency, phone_number=taken.phone_number))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["phone_number"]
    assert Employee.objects.count() == 1


def test_edit_saves_with_the_version_read(as_bob, agency) -> None:
    anna = agency.employee("Anna Alt")
    page = as_bob.get(f"/employees/{anna.pk}/edit")
    assert page.context["form"].initial["version"] == anna.version
    data = form_data(agency, name="Anna Berg", phone_number=anna.phone_number, version=anna.version)
    response = as_bob.post(f"/employees/{anna.pk}/edit", data)
    assert response.status_code == 302
    anna.refresh_from_db()
    assert anna.name == "Anna Berg" and anna.employment_type == "mini_job"


def test_edit_without_a_version_is_refused(as_bob, agency) -> None:
    anna = agency.employee("Anna Alt")
    response = as_bob.post(f"/employees/{anna.pk}/edit", form_data(agency, phone_number=anna.phone_number))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    anna.refresh_from_db()
    assert anna.name == "Anna Alt"


def test_archive_restore_and_anonymise(as_bob, agency) -> None:
    anna = agency.employee("Anna Alt")
    url = f"/employees/{anna.pk}"
    assert as_bob.post(f"{url}/archive", {"version": anna.version}).status_code == 302
    anna.refresh_from_db()
    assert not anna.is_active
    # A stale button changes nothing and says so.
    response = as_bob.post(f"{url}/restore", {"version": anna.version - 1}, follow=True)
    assert "Someone else changed this" in response.content.decode()
    anna.refresh_from_db()
    assert not anna.is_active
    as_bob.post(f"{url}/restore", {"version": anna.version})
    anna.refresh_from_db()
    assert anna.is_active

    confirm = as_bob.get(f"{url}/anonymise")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    anna.refresh_from_db()
    assert anna.anonymised_at is None  # the confirmation page changes nothing
    as_bob.post(f"{url}/anonymise", {"version": anna.version})
    anna.refresh_from_db()
    assert anna.anonymised_at is not None and anna.phone_number is None
    detail = as_bob.get(f"{url}/")
    assert detail.context["employee"].name == f"Anonymised employee {anna.pk}"
    assert f'href="{url}/edit"' not in detail.content.decode()
    assert "Anna Alt" not in as_bob.get(f"{url}/").content.decode()  # messages shown once


def test_absences_are_added_refused_and_deleted(as_bob, agency) -> None:
    anna = agency.employee("Anna Alt")
    url = f"/employees/{anna.pk}/absences/"
    good = {"kind": "vacation", "starts_on": "2026-07-01", "ends_on": "2026-07-10", "note": "Sea"}
    assert as_bob.post(url, good).status_code == 302
    absence = Absence.objects.get(employee=anna)
    assert (absence.starts_on, absence.ends_on) == (date(2026, 7, 1), date(2026, 7, 10))

    backwards = as_bob.post(url, {**good, "starts_on": "2026-08-10", "ends_on": "2026-08-01"})
    assert list(backwards.context["absence_form"].errors) == ["ends_on"]
    overlapping = as_bob.post(url, {**good, "starts_on": "2026-07-05", "ends_on": "2026-07-12"})
    assert overlapping.context["absence_form"].errors
    assert Absence.objects.count() == 1
    assert "Sea" in as_bob.get(f"/employees/{anna.pk}/").content.decode()

    delete = f"/employees/{anna.pk}/absences/{absence.pk}/delete"
    assert as_bob.post(delete, {"version": absence.version}).status_code == 302
    assert not Absence.objects.exists()


def test_the_detail_links_to_the_readable_history_not_the_api(as_bob, agency) -> None:
    anna = agency.employee("Anna Alt")
    html = as_bob.get(f"/employees/{anna.pk}/").content.decode()
    assert f'href="/history/employee/{anna.pk}/"' in html and "/api/v1/history" not in html
    assert as_bob.get("/employees/999999/").status_code == 404


def test_a_viewer_reads_without_edit_controls_and_is_refused_every_change(as_carol, agency) -> None:
    anna = agency.employee("Anna Alt")
    absence = services.absence_create(
        actor=agency.actor,
        employee_id=anna.pk,
        kind="sick",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 1, 2),
    )
    listing = as_carol.get("/employees/")
    assert listing.status_code == 200 and "Anna Alt" in listing.content.decode()
    assert 'href="/employees/new"' not in listing.content.decode()
    detail = as_carol.get(f"/employees/{anna.pk}/").content.decode()
    assert "Anna Alt" in detail
    for control in ("/edit", "/archive", "/anonymise", "/absences/"):
        assert f"/employees/{anna.pk}{control}" not in detail
    assert as_carol.get("/employees/new").status_code == 403
    assert as_carol.get(f"/employees/{anna.pk}/edit").status_code == 403
    posts = {
        "/employees/new": form_data(agency),
        f"/employees/{anna.pk}/edit": form_data(agency, version=anna.version),
        f"/employees/{anna.pk}/archive": {"version": anna.version},
        f"/employees/{anna.pk}/restore": {"version": anna.version},
        f"/employees/{anna.pk}/anonymise": {"version": anna.version},
        f"/employees/{anna.pk}/absences/": {
            "kind": "sick",
            "starts_on": "2026-02-01",
            "ends_on": "2026-02-02",
        },
        f"/employees/{anna.pk}/absences/{absence.pk}/delete": {"version": absence.version},
    }
    for url, data in posts.items():
        assert as_carol.post(url, data).status_code == 403, url
    anna.refresh_from_db()
    assert anna.is_active and anna.anonymised_at is None
    assert Employee.objects.count() == 1 and Absence.objects.count() == 1
    assert EmployeeSkill.objects.count() == 0


def test_signed_out_visitors_are_sent_to_sign_in_and_outsiders_refused(client, oscar) -> None:
    response = client.get("/employees/")
    assert response.status_code == 302 and "/employees/" in response["Location"]
    client.force_login(oscar)
    assert client.get("/employees/").status_code == 403
