"""Templates: patterns events are made from (list, new, edit, archive)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crewcall.accounts.requests import SignedInRequest
from crewcall.events import selectors, services
from crewcall.events.forms import StatusForm, TemplateForm
from crewcall.events.views.common import versioned_edit
from crewcall.ui.access import can_edit, editor, reader
from crewcall.ui.live import render_live
from crewcall.ui.writes import run_write


@reader
def template_list(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"

    def read() -> dict[str, Any]:
        return {
            "templates": selectors.template_rows(archived=archived),
            "archived": archived,
            "can_edit": can_edit(request),
        }

    return render_live(request, "events/template_list.html", read)


@editor
def template_new(request: SignedInRequest) -> HttpResponse:
    form = TemplateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        written = run_write(
            request,
            lambda: services.event_create(actor=request.user, is_template=True, **form.values()),
            form=form,
        )
        if written.ok:
            return HttpResponseRedirect(reverse("events:templates"))
    return render(request, "events/template_form.html", {"form": form, "object": None})


@editor
def template_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    return versioned_edit(
        request,
        load=lambda: selectors.template_detail(template_id=pk),
        form_class=TemplateForm,
        save=lambda version, values: services.event_update(
            actor=request.user,
            event_id=pk,
            expected_version=version,
            changes=values,
        ),
        template="events/template_form.html",
        action=reverse("events:template_edit", args=[pk]),
        theirs_url=reverse("events:template_edit", args=[pk]),
        done=reverse("events:templates"),
        context={"work_areas": list(selectors.work_area_filter(event_id=pk))},
    )


@editor
@require_POST
def template_archive(request: SignedInRequest, pk: int) -> HttpResponse:
    if selectors.template_detail(template_id=pk) is None:
        raise Http404
    form = StatusForm(request.POST)
    version = form.cleaned_data["version"] if form.is_valid() else None
    written = run_write(
        request,
        lambda: services.template_archive(actor=request.user, event_id=pk, expected_version=version),
        conflict=_("Someone else changed this template meanwhile; look again and retry."),
    )
    if written.ok:
        messages.success(request, _("The template was archived."))
    return HttpResponseRedirect(reverse("events:templates"))
