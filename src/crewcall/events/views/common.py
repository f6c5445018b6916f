"""What the event pages share: the versioned edit form with its side-by-side conflict
view (who may read and write is crewcall.web.access, as for every page)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.core.errors import Busy, NotFound, ValidationFailed, VersionConflict
from crewcall.events.forms import TemplateForm, show_errors
from crewcall.events.models import Event


def shown(value: Any) -> str:
    """A value as the conflict view shows it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)


def initial_of(obj: Event, form_class: type[forms.Form]) -> dict[str, Any]:
    initial = {name: getattr(obj, name) for name in form_class.base_fields if hasattr(obj, name)}
    if isinstance(initial.get("reply_deadline"), dt.datetime):
        initial["reply_deadline"] = timezone.localtime(initial["reply_deadline"])
    return initial


def versioned_edit(
    request: HttpRequest,
    *,
    load: Callable[[], Event | None],
    form_class: type[TemplateForm],
    save: Callable[[int | None, dict[str, Any]], Any],
    template: str,
    done: str,
    context: dict[str, Any],
) -> HttpResponse:
    """GET: the form with the version read. POST: the service with that version; on a
    stale version, the form again with the current values beside the user's, carrying
    the current version, so that saving again keeps theirs only if they choose it."""
    obj = load()
    if obj is None:
        raise Http404
    conflict: list[dict[str, Any]] | None = None
    if request.method != "POST":
        form = form_class(initial=initial_of(obj, form_class))
    else:
        form = form_class(request.POST)
        if form.is_valid():
            try:
                save(form.cleaned_data["version"], form.values())
            except VersionConflict:
                current = load()
                if current is None:
                    raise Http404 from None
                conflict = conflict_rows(form, current)
                data = request.POST.copy()
                data["version"] = str(current.version)
                form = form_class(data)
                form.is_valid()
                obj = current
            except ValidationFailed as error:
                show_errors(form, error)
            except Busy as error:
                form.add_error(None, error.message)
            except NotFound:
                raise Http404 from None
            else:
                return HttpResponseRedirect(done)
    return render(request, template, {**context, "form": form, "object": obj, "conflict": conflict})


def conflict_rows(form: TemplateForm, current: Event) -> list[dict[str, Any]]:
    rows = []
    for name, field in form.fields.items():
        if name == "version":
            continue
        mine = shown(form.cleaned_data.get(name))
        theirs = shown(getattr(current, name, None))
        rows.append({"label": field.label, "mine": mine, "theirs": theirs, "differs": mine != theirs})
    return rows
