"""The employee import page (`/employees/import`): upload a CSV file, imported whole or not
at all by people.imports (the same rules as the API and `crewcall import`), and a CSV
template to start from.

A problem with the file as a whole (not UTF-8, too large, empty, no rows) is shown on the
file input; problems of rows are listed line by line, column by column, nothing written.
The page posts with htmx (the upload's progress, then "checking N rows", people/import.js);
without script the form posts as usual and gets the whole page."""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.core.validators import FileExtensionValidator
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crewcall.accounts.requests import SignedInRequest
from crewcall.core.errors import CrewcallError
from crewcall.people import imports
from crewcall.people.models import EmploymentType, Language, Role, Skill
from crewcall.ui.access import editor
from crewcall.ui.htmx import render_page

TEMPLATE_NAME = "employees-template.csv"


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        validators=[FileExtensionValidator(["csv", "txt"])],
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv", "data-import-file": ""}),
        help_text=gettext_lazy("UTF-8, the first line naming the columns, comma or semicolon separated."),
    )


def _columns() -> list[dict[str, Any]]:
    """What each column of the file holds (the rules themselves are people.imports')."""
    meaning = {
        "name": _("The full name."),
        "phone_number": _(
            "International (+49 151 …) or German national format; unique among active employees."
        ),
        "primary_role": _("A role key (see below)."),
        "employment_type": _("One of: %(values)s.") % {"values": ", ".join(EmploymentType.values)},
        "skills": _("Skill keys separated by “;” or “|” (see below); may be empty."),
        "is_always_needed": _("true or false (also yes/no, 1/0); empty means false."),
        "notes": _("Free text; may be empty."),
        "preferred_language": _("One of: %(values)s; empty means %(default)s.")
        % {"values": ", ".join(Language.values), "default": Language.GERMAN},
    }
    return [{"name": name, "required": name in imports.REQUIRED, "meaning": meaning[name]}
            for name in imports.COLUMNS]  # fmt: skip


def _context(request: HttpRequest, form: ImportForm, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "columns": _columns(),
        "roles": list(Role.objects.filter(is_active=True).order_by("key").values_list("key", flat=True)),
        "skills": list(Skill.objects.filter(is_active=True).order_by("key").values_list("key", flat=True)),
        "max_rows": imports.MAX_ROWS,
        "max_mb": imports.MAX_BYTES // (1024 * 1024),
        "template_name": TEMPLATE_NAME,
        **extra,
    }


@editor
def employee_import(request: SignedInRequest) -> HttpResponse:
    """GET: the form. POST: import the file, then the count or the per-row report."""
    posted = request.method == "POST"
    form = ImportForm(request.POST, request.FILES) if posted else ImportForm()
    extra: dict[str, Any] = {}
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            # One byte past the limit tells it is too large without reading all of it.
            text = imports.decode_csv(upload.read(imports.MAX_BYTES + 1))
            result = imports.employees_import(actor=request.user, csv_text=text)
        except imports.ImportRejected as rejected:
            rows = [problem for problem in rejected.problems if problem.line is not None]
            if rows:
                extra["problems"] = rejected.problems
                extra["problem_lines"] = len({problem.line for problem in rows})
            else:  # the file as a whole
                for problem in rejected.problems:
                    form.add_error("file", problem.message)
        except CrewcallError as error:
            form.add_error(None, error.message)
        else:
            extra["imported"] = result.created
            form = ImportForm()
    # 200 even for a refused file: htmx swaps in only successful answers.
    return render_page(request, "people/import.html", _context(request, form, **extra),
                       fragment="people/_import_panel.html")  # fmt: skip


@editor
def employee_import_template(request: HttpRequest) -> HttpResponse:
    """A CSV file to start from: the header and one example line."""
    role = Role.objects.filter(is_active=True).order_by("key").values_list("key", flat=True).first()
    skills = list(Skill.objects.filter(is_active=True).order_by("key").values_list("key", flat=True)[:2])
    example = {
        "name": "Erika Mustermann",
        "phone_number": "+49 151 23456789",
        "primary_role": role or "waiter",
        "employment_type": EmploymentType.values[0],
        "skills": ";".join(skills),
        "is_always_needed": "false",
        "notes": "",
        "preferred_language": Language.GERMAN,
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(imports.COLUMNS)
    writer.writerow([example[name] for name in imports.COLUMNS])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_NAME}"'
    return response
