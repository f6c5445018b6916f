"""The employee import page (/employees/import): a good file imports every row; a file
with bad rows gets the per-row report and writes nothing; a file that is no CSV, empty or
too large gets an error on the file input; viewers may not import; the CSV template."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crewcall.people import services
from crewcall.people.models import Employee

pytestmark = pytest.mark.django_db

URL = "/employees/import"
HEADER = "name,phone_number,primary_role,employment_type,skills,is_always_needed,notes,preferred_language\n"


def upload(text: str | bytes, name: str = "staff.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_the_page_explains_the_columns_and_offers_the_template(as_bob, agency) -> None:
    services.skill_create(actor=agency.actor, key="cocktails", name="Cocktails")
    page = as_bob.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    for column in ("name", "phone_number", "primary_role", "employment_type", "skills", "notes"):
        assert f"<code>{column}</code>" in html
    assert "<code>bartender</code>" in html and "<code>cocktails</code>" in html  # the keys to use
    assert 'href="/employees/import/template.csv"' in html
    assert 'type="file"' in html and 'hx-encoding="multipart/form-data"' in html
    assert "<progress" in html and "people/import.js" in html
    # The employee list links here.
    assert f'href="{URL}"' in as_bob.get("/employees/").content.decode()


def test_the_template_is_a_header_and_one_example_line_the_import_accepts(as_bob, agency) -> None:
    response = as_bob.get("/employees/import/template.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == HEADER.strip().split(",") and len(lines) == 2
    # The example is a valid row: uploading the template imports its one employee.
    answer = as_bob.post(URL, {"file": upload(text)})
    assert answer.context["imported"] == 1
    assert Employee.objects.get().name == lines[1][0]


def test_a_good_file_imports_every_row(as_bob, agency) -> None:
    services.skill_create(actor=agency.actor, key="wine", name="Wine")
    text = HEADER + (
        "Anna Alt,+49 151 11111111,waiter,mini_job,wine,yes,,en\n"
        "Ben Berg,0151 22222222,cook,freelance,,,Night owl,\n"
    )
    response = as_bob.post(URL, {"file": upload(text)})
    assert response.status_code == 200 and response.context["imported"] == 2
    html = response.content.decode()
    assert "2 employees imported." in html and 'href="/employees/"' in html
    anna = Employee.objects.get(name="Anna Alt")
    assert (anna.phone_number, anna.is_always_needed, anna.preferred_language) == (
        "+4915111111111",
        True,
        "en",
    )
    assert [s.key for s in anna.skills.all()] == ["wine"]
    assert Employee.objects.get(name="Ben Berg").notes == "Night owl"


def test_an_htmx_upload_gets_the_panel_only(as_bob, agency) -> None:
    text = HEADER + "Anna Alt,+49 151 11111111,waiter,mini_job,,,,\n"
    response = as_bob.post(URL, {"file": upload(text)}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.startswith('<div id="import-panel"') and "<html" not in html
    assert "1 employee imported." in html


def test_bad_rows_get_a_report_line_by_line_and_nothing_is_written(as_bob, agency) -> None:
    text = HEADER + (
        "Anna Alt,+49 151 11111111,waiter,mini_job,,,,\n"
        "Ben Berg,12,pilot,mini_job,,,,\n"
        "Cleo Cole,+49 151 11111111,waiter,sometimes,,maybe,,\n"
    )
    response = as_bob.post(URL, {"file": upload(text)})
    assert response.status_code == 200
    problems = [(p.line, p.field) for p in response.context["problems"]]
    assert (3, "phone_number") in problems and (3, "primary_role") in problems
    assert {(4, "phone_number"), (4, "employment_type"), (4, "is_always_needed")} <= set(problems)
    assert all(line in (3, 4) for line, _field in problems)
    html = response.content.decode()
    assert 'id="import-report"' in html and "Nothing was imported: problems on 2 lines." in html
    assert "There is no role &#x27;pilot&#x27;." in html
    assert '<td class="num">3</td><td><code>primary_role</code></td>' in html
    assert not Employee.objects.exists()
    assert not response.context["form"].errors  # the file itself was fine


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", "File extension"),
        ("staff.csv", b"\xff\xfe\x00n\x00a\x00m\x00e", "This is not UTF-8 text"),
        ("staff.csv", b"", "The submitted file is empty."),
        ("staff.csv", HEADER.encode(), "The file names the columns but holds no employees."),
    ],
)
def test_a_file_that_is_no_usable_csv_is_refused_on_the_file_input(
    as_bob, agency, name, data, message
) -> None:
    response = as_bob.post(URL, {"file": upload(data, name)})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["file"] and message in " ".join(errors["file"]), errors
    assert "problems" not in response.context
    assert 'data-field="file"' in response.content.decode()
    assert not Employee.objects.exists()


def test_no_file_at_all_is_a_field_error(as_bob, agency) -> None:
    response = as_bob.post(URL, {})
    assert list(response.context["form"].errors) == ["file"]


def test_a_file_larger_than_the_limit_is_refused_unread(as_bob, agency, monkeypatch) -> None:
    monkeypatch.setattr("crewcall.people.imports.MAX_BYTES", 200)
    text = HEADER + "".join(f"Person {n},+49 151 {n:08},waiter,mini_job,,,,\n" for n in range(10))
    response = as_bob.post(URL, {"file": upload(text)})
    assert "larger than" in " ".join(response.context["form"].errors["file"])
    assert not Employee.objects.exists()


def test_a_viewer_may_neither_see_nor_post_the_import(client, carol, agency) -> None:
    client.force_login(carol)
    assert client.get(URL).status_code == 403
    assert client.get("/employees/import/template.csv").status_code == 403
    text = HEADER + "Anna Alt,+49 151 11111111,waiter,mini_job,,,,\n"
    assert client.post(URL, {"file": upload(text)}).status_code == 403
    assert not Employee.objects.exists()
    assert 'href="/employees/import"' not in client.get("/employees/").content.decode()
