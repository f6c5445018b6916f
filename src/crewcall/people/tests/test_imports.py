from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from crewcall.conftest import Agency
from crewcall.people import services
from crewcall.people.imports import ImportRejected, RowError, employees_import
from crewcall.people.models import Employee, EmployeeSkill

HEADER = "name,phone_number,primary_role,employment_type,skills,is_always_needed,notes,preferred_language"


@pytest.fixture
def skilled(agency: Agency) -> Agency:
    services.skill_create(actor=agency.actor, key="cocktails", name="Cocktails")
    services.skill_create(actor=agency.actor, key="forklift", name="Forklift")
    return agency


def rows(count: int, *, first_phone: int = 15120000000) -> list[str]:
    """`count` good data rows (the header not included); row i lands on line i + 2."""
    kinds = ("full_time", "part_time", "mini_job", "freelance")
    return [
        f"Person {i},+49{first_phone + i},{('waiter', 'cook', 'bartender')[i % 3]},{kinds[i % 4]},"
        f"{'cocktails;forklift' if i % 2 else ''},{'yes' if i % 7 == 0 else 'no'},note {i},{'en' if i % 5 else 'de'}"
        for i in range(count)
    ]


def csv_of(data_rows: list[str], header: str = HEADER) -> str:
    return "\n".join([header, *data_rows]) + "\n"


def upload(api: Any, content: bytes) -> Any:
    return api.client.post(
        "/api/v1/employees/import",
        {"file": SimpleUploadedFile("people.csv", content, content_type="text/csv")},
        headers=api.headers,
    )


def test_one_bad_row_among_5000_writes_nothing_and_is_named(skilled: Agency, bob: Any, api_as: Any) -> None:
    data = rows(5000)
    data[3998] = data[3998].replace(",+49", ",+49-12", 1)  # line 4,000: not a phone number
    before = Employee.objects.count()
    r = upload(api_as(bob), csv_of(data).encode())
    assert r.status_code == 422, r.content
    body = r.json()
    assert r["Content-Type"] == "application/problem+json" and body["code"] == "import_rejected"
    assert body["detail"] == "Nothing was imported: 1 problem on 1 line."
    assert [e["field"] for e in body["errors"]] == ["line 4000: phone_number"]
    assert "not a valid phone number" in body["errors"][0]["message"]
    assert Employee.objects.count() == before and not EmployeeSkill.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_5000_clean_rows_are_written_in_one_transaction(skilled: Agency, bob: Any) -> None:
    last_before = Employee.objects.order_by("-id").values_list("id", flat=True).first() or 0
    result = employees_import(actor=bob, csv_text=csv_of(rows(5000)))
    assert result.created == 5000 and result.skills_linked == 5000
    new = Employee.objects.filter(id__gt=last_before)
    assert new.count() == 5000
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(DISTINCT e.xmin::text), count(DISTINCT s.xmin::text),"
            " bool_and(e.xmin::text = s.xmin::text)"
            " FROM people_employee e JOIN people_employeeskill s ON s.employee_id = e.id WHERE e.id > %s",
            [last_before],
        )
        assert cur.fetchone() == (1, 1, True)
    person = new.get(name="Person 7")
    assert person.phone_number == "+4915120000007" and person.primary_role.key == "cook"
    assert person.employment_type == "freelance" and person.is_always_needed is True
    assert person.preferred_language == "en" and person.notes == "note 7" and person.version == 1
    assert sorted(person.skills.values_list("key", flat=True)) == ["cocktails", "forklift"]


def test_every_bad_row_is_reported(skilled: Agency, bob: Any) -> None:
    existing = skilled.employee("Taken")
    services.skill_update(
        actor=bob, skill_id=services.skill_create(actor=bob, key="old", name="Old").pk,
        expected_version=1, changes={"is_active": False},
    )  # fmt: skip
    data = rows(12)
    data[0] = f"Anna,{existing.phone_number},waiter,part_time,,no,,de"  # line 2
    data[2] = "  ,+4915120000002,chef,weekly,cocktails|juggling,maybe,,fr"  # line 4
    data[4] = "Bea,+4915120000001,cook,mini_job,old,1,,en"  # line 6: the phone of line 3
    data[6] = "Cem,+4915120000006,cook,mini_job"  # line 8: too few values
    data[8] = f"{'D' * 121},+4915120000008,cook,mini_job,,0,a\x00b,"  # line 10
    with pytest.raises(ImportRejected) as caught:
        employees_import(actor=bob, csv_text=csv_of(data))
    found = [(p.line, p.field) for p in caught.value.problems]
    assert found == [
        (2, "phone_number"),
        (4, "name"),
        (4, "primary_role"),
        (4, "employment_type"),
        (4, "skills"),
        (4, "is_always_needed"),
        (4, "preferred_language"),
        (6, "phone_number"),
        (6, "skills"),
        (8, "row"),
        (10, "name"),
        (10, "notes"),
    ], caught.value.problems
    messages = {(p.line, p.field): p.message for p in caught.value.problems}
    assert messages[(6, "phone_number")] == "The same phone number as line 3."
    assert messages[(4, "skills")] == "No such skill: 'juggling'."
    assert messages[(2, "phone_number")] == "An active employee already has this phone number."
    assert Employee.objects.count() == 1


def test_the_header_must_name_known_columns(skilled: Agency, bob: Any) -> None:
    with pytest.raises(ImportRejected) as caught:
        employees_import(actor=bob, csv_text=csv_of([], header="name,phone,name,employment_type"))
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (1, "column 2"), (1, "name"), (1, "phone_number"), (1, "primary_role"),
    ]  # fmt: skip
    with pytest.raises(ImportRejected) as caught:
        employees_import(actor=bob, csv_text="")
    assert caught.value.problems == [
        RowError(None, "file", "The first line must name the columns; it is empty.")
    ]


def test_semicolons_a_bom_quotes_and_blank_lines_are_read(skilled: Agency, bob: Any) -> None:
    text = (
        "\ufeffName; Phone_Number;primary_role;employment_type;skills\r\n"
        '"Müller; Jana";+49 151 20000001;Waiter;MINI_JOB;"cocktails;forklift"\r\n'
        "\r\n"
        '"Line\r\nbreak";015120000002;cook;part_time;\r\n'
        "Ola;+4915120000003;cook;part_time;x\r\n"
    )
    with pytest.raises(ImportRejected) as caught:
        employees_import(actor=bob, csv_text=text)
    assert [(p.line, p.field) for p in caught.value.problems] == [(6, "skills")]
    result = employees_import(actor=bob, csv_text=text.replace(";x\r\n", ";\r\n"))
    assert result.created == 3
    jana = Employee.objects.get(name="Müller; Jana")
    assert jana.phone_number == "+4915120000001" and jana.preferred_language == "de"
    assert jana.skills.count() == 2
    assert Employee.objects.get(name="Line\r\nbreak").phone_number == "+4915120000002"


def test_the_upload_is_checked_before_anything_is_read(
    skilled: Agency, bob: Any, carol: Any, api_as: Any
) -> None:
    api = api_as(bob)
    r = upload(api, "name,phone_number\nJörg".encode("latin-1"))
    assert r.status_code == 422, r.content
    assert r.json()["errors"][0]["field"] == "file" and "UTF-8" in r.json()["errors"][0]["message"]
    r = upload(api, (HEADER + "\n").encode() + b"x" * (5 * 1024 * 1024))
    assert r.status_code == 422 and "larger than 5 MB" in r.json()["errors"][0]["message"], r.content
    r = api.post("employees/import", {"file": "name,phone_number"})  # JSON, not a file
    # "file.file" until core/api/problems.py reads ninja's "file" location as it reads "form".
    assert r.status_code == 422 and r.json()["errors"][0]["field"] in {"file", "file.file"}, r.content
    assert upload(api_as(carol), csv_of(rows(1)).encode()).status_code == 403
    assert not Employee.objects.exists()

    r = upload(api, csv_of(rows(3)).encode("utf-8-sig"))
    assert r.status_code == 200, r.content
    assert r.json() == {"created": 3} and Employee.objects.count() == 3


def test_the_command_imports_or_lists_every_problem(skilled: Agency, bob: Any, tmp_path: Any) -> None:
    good = tmp_path / "good.csv"
    good.write_text(csv_of(rows(4)), encoding="utf-8")
    out = io.StringIO()
    call_command("import", str(good), stdout=out)
    assert out.getvalue().strip() == "Imported 4 employees."
    assert Employee.objects.count() == 4

    data = rows(4, first_phone=15130000000)
    data[1] = data[1].replace("cook", "juggler")
    data[3] = data[3].replace(",+49", ",+1", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_of(data), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import", str(bad), stdout=io.StringIO(), stderr=err)
    assert caught.value.returncode == 1
    assert err.getvalue().splitlines() == [
        "line 3, primary_role: There is no role 'juggler'.",
        "line 5, phone_number: '+115130000003' is not a valid phone number.",
    ]
    assert Employee.objects.count() == 4
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import", str(tmp_path / "missing.csv"))
