"""What the event pages share: the versioned edit form with its side-by-side conflict
view (crewcall.ui.conflicts; who may read and write is crewcall.ui.access, as for
every page; the service's refusals are answered by crewcall.ui.writes.run_write)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone

from crewcall.accounts.requests import SignedInRequest
from crewcall.events.forms import TemplateForm
from crewcall.events.models import Event
from crewcall.ui import conflicts
from crewcall.ui.writes import run_write


def initial_of(obj: Event, form_class: type[forms.Form]) -> dict[str, Any]:
    initial = {name: getattr(obj, name) for name in form_class.base_fields if hasattr(obj, name)}
    if isinstance(initial.get("reply_deadline"), dt.datetime):
        initial["reply_deadline"] = timezone.localtime(initial["reply_deadline"])
    return initial


def versioned_edit(
    request: SignedInRequest,
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
    if request.method != "POST":
        form = form_class(initial=initial_of(obj, form_class))
    else:
        form = form_class(conflicts.resolve(request.POST, form_class))

        def conflict() -> HttpResponse:
            current = load()
            if current is None:
                raise Http404
            found = conflicts.conflict(
                yours=form,
                theirs=initial_of(current, form_class),
                version=current.version,
                action=action,
                theirs_url=theirs_url,
            )
            return render(request, template, {**context, "form": form, "object": current, "conflict": found})

        if form.is_valid():
            written = run_write(
                request,
                lambda: save(form.cleaned_data["version"], form.values()),
                form=form,
                conflict=conflict,
            )
            if written.answer is not None:
                return written.answer
            if written.ok:
                return HttpResponseRedirect(done)
    return render(request, template, {**context, "form": form, "object": obj, "conflict": None})
