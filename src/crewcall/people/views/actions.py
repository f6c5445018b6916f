"""Buttons on an employee's page: archive, restore, anonymise, replace the personal link,
and absences (add, delete).

Each carries the version its page showed; a stale one changes nothing and says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crewcall.accounts.requests import SignedInRequest
from crewcall.people import services
from crewcall.people.forms import AbsenceForm, VersionForm
from crewcall.people.models import Absence
from crewcall.people.views.pages import detail_context, employee_or_404
from crewcall.ui.access import editor
from crewcall.ui.live import render_live
from crewcall.ui.writes import run_write

STALE = _("Someone else changed this in the meantime, so nothing was changed. Here is the current state.")


def _versioned(request: HttpRequest, write: Callable[[int], Any], done: str) -> bool:
    """Run `write(version)` with the posted version; report the outcome as a message."""
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The page was out of date; nothing was changed. Please try again."))
        return False
    written = run_write(request, lambda: write(form.cleaned_data["version"]), conflict=STALE)
    if written.ok:
        messages.success(request, done)
    return written.ok


@editor
@require_POST
def employee_archive(request: SignedInRequest, employee_id: int) -> HttpResponse:
    employee = employee_or_404(employee_id)
    _versioned(
        request,
        lambda version: services.employee_archive(
            actor=request.user,
            employee_id=employee.pk,
            expected_version=version,
        ),
        _("%(name)s was archived: never asked again, history kept.") % {"name": employee.name},
    )
    return redirect("people:detail", employee_id=employee.pk)


@editor
@require_POST
def employee_restore(request: SignedInRequest, employee_id: int) -> HttpResponse:
    employee = employee_or_404(employee_id)
    _versioned(
        request,
        lambda version: services.employee_restore(
            actor=request.user,
            employee_id=employee.pk,
            expected_version=version,
        ),
        _("%(name)s is active again.") % {"name": employee.name},
    )
    return redirect("people:detail", employee_id=employee.pk)


@editor
def employee_anonymise(request: SignedInRequest, employee_id: int) -> HttpResponse:
    """GET: what anonymising means, and the button. POST: do it."""
    employee = employee_or_404(employee_id)
    if request.method == "POST":
        _versioned(
            request,
            lambda version: services.employee_anonymise(
                actor=request.user,
                employee_id=employee.pk,
                expected_version=version,
            ),
            _("The personal data of this employee was erased; the statistics stay."),
        )
        return redirect("people:detail", employee_id=employee.pk)
    return render(request, "people/anonymise.html", {"employee": employee})


@editor
@require_POST
def employee_link_rotate(request: SignedInRequest, employee_id: int) -> HttpResponse:
    employee = employee_or_404(employee_id)
    _versioned(
        request,
        lambda version: services.employee_link_rotate(
            actor=request.user, employee_id=employee.pk, expected_version=version
        ),
        _("%(name)s has a new personal link; every earlier one stops working.") % {"name": employee.name},
    )
    return redirect(reverse("people:detail", args=[employee.pk]) + "#personal-link")


@editor
@require_POST
def absence_add(request: SignedInRequest, employee_id: int) -> HttpResponse:
    employee = employee_or_404(employee_id)
    form = AbsenceForm(request.POST)
    if form.is_valid():
        written = run_write(
            request,
            lambda: services.absence_create(actor=request.user, employee_id=employee.pk, **form.cleaned_data),
            form=form,
        )
        if written.ok:
            messages.success(request, _("The absence was added."))
            return redirect("people:detail", employee_id=employee.pk)
    return render_live(
        request, "people/detail.html", lambda: detail_context(request, employee, absence_form=form)
    )


@editor
@require_POST
def absence_delete(request: SignedInRequest, employee_id: int, absence_id: int) -> HttpResponse:
    if not Absence.objects.filter(pk=absence_id, employee_id=employee_id).exists():
        raise Http404(_("There is no such absence."))
    _versioned(
        request,
        lambda version: services.absence_delete(
            actor=request.user,
            absence_id=absence_id,
            expected_version=version,
        ),
        _("The absence was removed."),
    )
    return redirect("people:detail", employee_id=employee_id)
