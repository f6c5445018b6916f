"""The work-area editor: add, edit, deactivate or delete a work area of an event.

The form re-checks itself while the dispatcher types (htmx posts it to `validate`, which
answers with the error parts only, swapped out of band, so focus and caret stay put).
Validation runs the same rules as saving: events.services.work_area_problems, the one
Python copy of them, which work_area_create / work_area_update call under their lock.
Validation writes nothing and opens no transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crewcall.accounts.requests import SignedInRequest
from crewcall.events import services
from crewcall.events.forms import WorkAreaForm, format_role_requirements
from crewcall.events.models import Event, WorkArea
from crewcall.people.models import Role
from crewcall.ui import conflicts
from crewcall.ui.access import editor
from crewcall.ui.writes import run_write

# The fields whose errors the editor shows beside them (and "__all__" above the form).
ERROR_FIELDS = ("name", "max_capacity", "role_requirements", "required_skills", "priority", "is_active")


def _event(pk: int) -> Event:
    event = Event.objects.filter(pk=pk, is_template=False).only("id", "title", "status").first()
    if event is None:
        raise Http404
    return event


def _area(event: Event, area_id: int) -> WorkArea:
    area = WorkArea.objects.filter(pk=area_id, event_id=event.pk).prefetch_related("required_skills").first()
    if area is None:
        raise Http404
    return area


def _board(event: Event) -> str:
    return reverse("staffing:board", kwargs={"event_id": event.pk}) + "#work-areas"


def _role_keys() -> list[str]:
    return list(Role.objects.order_by("key").values_list("key", flat=True))


def _initial(area: WorkArea) -> dict[str, Any]:
    return {
        "version": area.version,
        "name": area.name,
        "max_capacity": area.max_capacity,
        "role_requirements": format_role_requirements(area.role_requirements),
        "required_skills": list(area.required_skills.all()),
        "priority": area.priority,
        "is_active": area.is_active,
    }


def _render(
    request: HttpRequest,
    event: Event,
    form: WorkAreaForm,
    area: WorkArea | None,
    conflict: conflicts.Conflict | None = None,
) -> HttpResponse:
    validate = (
        reverse("events:work_area_validate", kwargs={"pk": event.pk, "area_id": area.pk})
        if area is not None
        else reverse("events:work_area_validate_new", kwargs={"pk": event.pk})
    )
    context = {
        "event": event,
        "area": area,
        "form": form,
        "conflict": conflict,
        "validate_url": validate,
        "board_url": _board(event),
        "error_fields": ERROR_FIELDS,
    }
    return render(request, "staffing/work_area_form.html", context)


@editor
def work_area_new(request: SignedInRequest, pk: int) -> HttpResponse:
    event = _event(pk)
    if request.method != "POST":
        return _render(request, event, WorkAreaForm(role_keys=_role_keys()), None)
    form = WorkAreaForm(request.POST, role_keys=_role_keys())
    if form.is_valid():
        written = run_write(
            request,
            lambda: services.work_area_create(
                actor=request.user,
                event_id=event.pk,
                required_skills=list(form.cleaned_data["required_skills"]),
                **form.changes(),
            ),
            form=form,
        )
        if written.ok:
            messages.success(request, _("Work area %(name)s added.") % {"name": written.value.name})
            return HttpResponseRedirect(_board(event))
    return _render(request, event, form, None)


@editor
def work_area_edit(request: SignedInRequest, pk: int, area_id: int) -> HttpResponse:
    """GET: the form with the version read. POST (the form, or the conflict view's keep
    mine / merged): the service with that version; on a stale version the shared conflict
    view (crewcall.ui.conflicts) instead of the form, nothing written."""
    event = _event(pk)
    area = _area(event, area_id)
    if request.method != "POST":
        return _render(request, event, WorkAreaForm(initial=_initial(area), role_keys=_role_keys()), area)
    # A post of the conflict view (keep mine, merged) becomes the form's data here.
    form = WorkAreaForm(conflicts.resolve(request.POST, WorkAreaForm), role_keys=_role_keys())

    def conflict() -> HttpResponse:
        current = _area(event, area_id)
        found = conflicts.conflict(
            yours=form,
            theirs=_initial(current),
            version=current.version,
            action=reverse("events:work_area_edit", kwargs={"pk": event.pk, "area_id": current.pk}),
            theirs_url=_board(event),
            form_kwargs={"role_keys": _role_keys()},
        )
        return _render(request, event, form, current, found)

    if form.is_valid():
        written = run_write(
            request,
            lambda: services.work_area_update(
                actor=request.user,
                work_area_id=area.pk,
                expected_version=form.cleaned_data["version"],
                changes=form.changes(),
                required_skills=list(form.cleaned_data["required_skills"]),
            ),
            form=form,
            conflict=conflict,
        )
        if written.answer is not None:
            return written.answer
        if written.ok:
            messages.success(request, _("Work area %(name)s saved.") % {"name": form.cleaned_data["name"]})
            return HttpResponseRedirect(_board(event))
    return _render(request, event, form, area)


@editor
@require_POST
def work_area_validate(request: HttpRequest, pk: int, area_id: int | None = None) -> HttpResponse:
    """The editor's check while typing: every field's errors, out of band, status 200.
    A field left empty so far gets no "required" nag; saving still demands it."""
    event = _event(pk)
    if area_id is not None and not WorkArea.objects.filter(pk=area_id, event_id=event.pk).exists():
        raise Http404
    form = WorkAreaForm(request.POST, role_keys=None)
    form.is_valid()
    errors: dict[str, list[str]] = {
        name: [str(e) for e in form.errors.get(name, [])] for name in ERROR_FIELDS
    }
    empty = {name for name in ERROR_FIELDS if not str(request.POST.get(name, "")).strip()}
    for name in empty:
        errors[name] = []
    data = form.cleaned_data
    problems = services.work_area_problems(
        event_id=event.pk,
        work_area_id=area_id,
        name=data.get("name") or "",
        max_capacity=data.get("max_capacity"),
        role_requirements=data.get("role_requirements") or {},
    )
    judged = {name for name in ERROR_FIELDS if not errors[name] and name not in empty}
    for problem in problems:
        if problem.field in judged and problem.message not in errors[problem.field]:
            errors[problem.field].append(problem.message)
    response = render(
        request, "events/_work_area_errors.html", {"errors": [(n, errors[n]) for n in ERROR_FIELDS]}
    )
    return response


@editor
@require_POST
def work_area_delete(request: SignedInRequest, pk: int, area_id: int) -> HttpResponse:
    event = _event(pk)
    area = _area(event, area_id)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    written = run_write(
        request,
        lambda: services.work_area_delete(actor=request.user, work_area_id=area.pk, expected_version=version),
        conflict=_("This work area was changed by someone else meanwhile; nothing was deleted."),
    )
    if written.ok:
        messages.success(request, _("Work area %(name)s deleted.") % {"name": area.name})
        return HttpResponseRedirect(_board(event))
    return HttpResponseRedirect(reverse("events:work_area_edit", kwargs={"pk": event.pk, "area_id": area.pk}))
