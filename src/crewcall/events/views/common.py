"""What the event pages share: the versioned edit form with its side-by-side conflict
view (crewcall.ui.conflicts; who may read and write is crewcall.ui.access, as for
every page)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone

from crewcall.core.errors import Busy, NotFound, ValidationFailed, VersionConflict
from crewcall.events.forms import TemplateForm, show_errors
from crewcall.events.models import Event
from crewcall.ui import conflicts


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
    action: str,
    theirs_url: str,
    done: str,
    context: dict[str, Any],
) -> HttpResponse:
    """GET: the form with the version read. POST (the form, or the conflict view's keep
    mine / merged): the service with that version; on a stale version, the conflict view
    (both versions side by side) instead of the form, nothing written."""
    obj = load()
    if obj is None:
        raise Http404
    conflict: conflicts.Conflict | None = None
    if request.method != "POST":
        form = form_class(initial=initial_of(obj, form_class))
    else:
        form = form_class(conflicts.resolve(request.POST, form_class))
        if form.is_valid():
            try:
                save(form.cleaned_data["version"], form.values())
            except VersionConflict:
                current = load()
                if current is None:
                    raise Http404 from None
                conflict = conflicts.conflict(
                    yours=form,
                    theirs=initial_of(current, form_class),
                    version=current.version,
                    action=action,
                    theirs_url=theirs_url,
                )
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
