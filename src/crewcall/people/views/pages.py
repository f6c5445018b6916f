"""The employee list, one employee's page, and the create / edit form with its conflict view."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from crewcall.accounts.requests import SignedInRequest
from crewcall.core.api.pagination import Sort, keyset_page
from crewcall.core.api.problems import ApiProblem
from crewcall.core.errors import ValidationFailed
from crewcall.people import selectors, services
from crewcall.people.forms import AbsenceForm, EmployeeFilterForm, EmployeeForm, LinkDayForm
from crewcall.people.links import employee_link
from crewcall.people.models import Employee
from crewcall.ui import conflicts
from crewcall.ui.access import can_edit, editor, reader
from crewcall.ui.live import render_live
from crewcall.ui.writes import run_write, show_errors

PAGE_SIZE = 50
BY_NAME = Sort(field="name", descending=False)


def employee_or_404(employee_id: int) -> Employee:
    employee = selectors.employee_page(active=None).filter(pk=employee_id).first()
    if employee is None:
        raise Http404(_("There is no such employee."))
    return employee


def _list_context(request: HttpRequest) -> dict[str, Any]:
    form = EmployeeFilterForm(request.GET or None)
    after = request.GET.get("after") or None
    qs = selectors.employee_page(**form.filters())
    try:
        employees, cursor = keyset_page(qs, sort=BY_NAME, after=after, limit=PAGE_SIZE)
    except ApiProblem:  # a cursor this list never gave out: start from the top
        after = None
        employees, cursor = keyset_page(qs, sort=BY_NAME, after=None, limit=PAGE_SIZE)
    more = None
    if cursor:
        query = request.GET.copy()
        query["after"] = cursor
        more = query.urlencode()
    first = None
    if after:
        query = request.GET.copy()
        query.pop("after", None)
        first = query.urlencode() or "status=active"
    return {
        "filter_form": form,
        "employees": employees,
        "more_query": more,
        "first_query": first,
        "can_edit": can_edit(request),
    }


@reader
def employee_list(request: HttpRequest) -> HttpResponse:
    """The whole page, or for htmx (filters changed, or a live refresh) the list alone."""
    return render_live(
        request, "people/list.html", lambda: _list_context(request), fragment="people/_list.html"
    )


def _personal_link(request: HttpRequest, employee: Employee) -> dict[str, Any]:
    """The employee's personal link for editors (whoever holds it answers for the employee),
    valid until the day asked for (`?link_until=`) or until replaced."""
    form = LinkDayForm(request.GET or None)
    last_day = form.cleaned_data.get("link_until") if form.is_valid() else None
    link = None
    try:
        link = employee_link(employee_id=employee.pk, last_day=last_day)
    except ValidationFailed as exc:
        show_errors(form, exc, fields={"last_day": "link_until"})
    return {"link_form": form, "personal_link": link}


def detail_context(request: HttpRequest, employee: Employee, **extra: Any) -> dict[str, Any]:
    editable = can_edit(request) and employee.anonymised_at is None
    return {
        "employee": employee,
        "absences": selectors.employee_absences(employee_id=employee.pk),
        "absence_form": AbsenceForm(),
        "can_edit": editable,
        **(_personal_link(request, employee) if editable else {}),
        **extra,
    }


@reader
def employee_detail(request: HttpRequest, employee_id: int) -> HttpResponse:
    return render_live(
        request, "people/detail.html", lambda: detail_context(request, employee_or_404(employee_id))
    )


@editor
def employee_create(request: SignedInRequest) -> HttpResponse:
    form = EmployeeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        written = run_write(
            request,
            lambda: services.employee_create(
                actor=request.user, skills=list(form.cleaned_data["skills"]), **form.service_arguments()
            ),
            form=form,
        )
        if written.ok:
            employee = written.value
            messages.success(request, _("%(name)s was added.") % {"name": employee.name})
            return redirect("people:detail", employee_id=employee.pk)
    return render(request, "people/form.html", {"form": form, "employee": None})


@editor
def employee_edit(request: SignedInRequest, employee_id: int) -> HttpResponse:
    employee = employee_or_404(employee_id)
    if employee.anonymised_at is not None:
        messages.error(request, _("An anonymised employee cannot be changed."))
        return redirect("people:detail", employee_id=employee.pk)
    initial = EmployeeForm.initial_from(employee)
    if request.method != "POST":
        return render(
            request, "people/form.html", {"form": EmployeeForm(initial=initial), "employee": employee}
        )
    # A post of the conflict view (keep mine, merged) becomes the form's data here.
    form = EmployeeForm(conflicts.resolve(request.POST, EmployeeForm), initial=initial)
    if form.is_valid():
        written = run_write(
            request,
            lambda: services.employee_update(
                actor=request.user,
                employee_id=employee.pk,
                expected_version=form.cleaned_data["version"],
                changes=form.service_arguments(),
                skills=list(form.cleaned_data["skills"]),
            ),
            form=form,
            conflict=lambda: _conflict(request, employee.pk, form),
        )
        if written.answer is not None:
            return written.answer
        if written.ok:
            messages.success(request, _("Your changes were saved."))
            return redirect("people:detail", employee_id=employee.pk)
    return render(request, "people/form.html", {"form": form, "employee": employee})


def _conflict(request: HttpRequest, employee_id: int, yours: EmployeeForm) -> HttpResponse:
    """Someone saved this employee after the user read it: show both, write nothing."""
    current = employee_or_404(employee_id)
    found = conflicts.conflict(
        yours=yours,
        theirs=EmployeeForm.initial_from(current),
        version=current.version,
        action=reverse("people:edit", args=[current.pk]),
        theirs_url=reverse("people:detail", args=[current.pk]),
    )
    return render(request, "people/conflict.html", {"employee": current, "conflict": found})
