"""The dispatcher's event pages: list, new (blank or from a template), detail, edit,
weekly copies and deleting a draft. Every write goes through events.services; the
status actions (transition, cancel) are staffing.views.event_lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.accounts.requests import SignedInRequest
from crewcall.events import selectors, services
from crewcall.events.forms import (
    EventFilterForm,
    EventForm,
    FromTemplateForm,
    StatusForm,
    WeeklyCopiesForm,
)
from crewcall.events.models import Event
from crewcall.events.views.common import versioned_edit
from crewcall.ui.access import can_edit, editor, reader
from crewcall.ui.live import render_live
from crewcall.ui.writes import run_write

LIVE_TABLES = "events_event staffing_invitation events_assignment"


def event_or_404(pk: int) -> Event:
    event = Event.objects.filter(pk=pk, is_template=False).first()
    if event is None:
        raise Http404
    return event


@reader
def event_list(request: HttpRequest) -> HttpResponse:
    filters = EventFilterForm(request.GET)
    clean: dict[str, Any] = filters.cleaned_data if filters.is_valid() else {}

    def read() -> dict[str, Any]:
        past = clean.get("when") == "past"
        rows = selectors.event_rows(
            status=clean.get("status") or None,
            past=past,
            date_from=clean.get("date_from"),
            date_to=clean.get("date_to"),
            today=timezone.localdate(),
        )
        return {
            "filters": filters,
            "events": rows,
            "past": past,
            "limit": selectors.EVENT_PAGE_LIMIT,
            "can_edit": can_edit(request),
            "live_tables": LIVE_TABLES,
        }

    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "events/_event_rows.html", read())
    return render_live(request, "events/event_list.html", read)


@reader
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    def read() -> dict[str, Any]:
        event = selectors.event_detail(event_id=pk)
        if event is None:
            raise Http404
        ends_at = selectors.event_ends_at(event) if event.event_date is not None else None
        until = selectors.reopen_until(event)
        return {
            "event": event,
            "work_areas": list(selectors.work_area_filter(event_id=pk).order_by("position_order", "id")),
            "can_edit": can_edit(request),
            "live_tables": LIVE_TABLES + " events_workarea",
            "ends_at": ends_at,
            "has_ended": ends_at is not None and ends_at <= timezone.now(),
            "reopen_until": until if until is not None and until > timezone.now() else None,
        }

    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "events/_event_detail.html", read())
    return render_live(request, "events/event_detail.html", read)


@editor
def event_new(request: SignedInRequest) -> HttpResponse:
    """A blank event, or one made from a template (the page offers both)."""
    blank = EventForm(prefix="blank")
    chosen = request.GET.get("template")
    from_template = FromTemplateForm(prefix="tpl", initial={"template": chosen} if chosen else {})
    if request.method == "POST":
        if request.POST.get("kind") == "template":
            from_template = FromTemplateForm(request.POST, prefix="tpl")
            created = _create(request, from_template, lambda data: services.event_create_from_template(
                actor=request.user,
                template_id=data["template"].pk,
                event_date=data["event_date"],
                title=data["title"] or None,
            ))  # fmt: skip
        else:
            blank = EventForm(request.POST, prefix="blank")
            created = _create(
                request, blank, lambda _data: services.event_create(actor=request.user, **blank.values())
            )
        if created is not None:
            return HttpResponseRedirect(reverse("events:detail", args=[created.pk]))
    context = {
        "blank": blank,
        "from_template": from_template,
        "has_templates": selectors.templates_in_use().exists(),
    }
    return render(request, "events/event_new.html", context)


def _create(
    request: HttpRequest, form: forms.Form, create: Callable[[dict[str, Any]], Event]
) -> Event | None:
    """The service's event, or None with its refusal shown on the form (a template gone
    meanwhile too: the page itself stands)."""
    if not form.is_valid():
        return None
    written = run_write(request, lambda: create(form.cleaned_data), form=form, missing=True)
    return written.value if written.ok else None


@editor
def event_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    return versioned_edit(
        request,
        load=lambda: Event.objects.filter(pk=pk, is_template=False).first(),
        form_class=EventForm,
        save=lambda version, values: services.event_update(
            actor=request.user,
            event_id=pk,
            expected_version=version,
            changes=values,
        ),
        template="events/event_edit.html",
        action=reverse("events:edit", args=[pk]),
        theirs_url=reverse("events:detail", args=[pk]),
        done=reverse("events:detail", args=[pk]),
        context={},
    )


@editor
def event_weekly_copies(request: SignedInRequest, pk: int) -> HttpResponse:
    event = event_or_404(pk)
    form = WeeklyCopiesForm(request.POST if request.method == "POST" else None)
    copies: list[Event] = []
    if request.method == "POST" and form.is_valid():
        written = run_write(
            request,
            lambda: services.event_copy_weekly(
                actor=request.user, event_id=pk, count=form.cleaned_data["count"]
            ),
            form=form,
            missing=True,
        )
        if written.ok:
            copies = written.value
    return render(request, "events/event_weekly.html", {"event": event, "form": form, "copies": copies})


def act_on_event(
    request: SignedInRequest, pk: int, action: Callable[[int | None, str], object]
) -> HttpResponse | None:
    """Run a status action with the version the page showed; problems become a message
    on the event's page. Returns None when it worked."""
    form = StatusForm(request.POST)
    version = form.cleaned_data["version"] if form.is_valid() else None
    to_status = form.cleaned_data.get("to_status", "") if form.is_valid() else ""
    written = run_write(
        request,
        lambda: action(version, to_status),
        conflict=_("Someone else changed this event meanwhile; here it is as it is now."),
    )
    if written.ok:
        return None
    return HttpResponseRedirect(reverse("events:detail", args=[pk]))


def act_on_event_confirmed(
    request: SignedInRequest,
    pk: int,
    *,
    action: str,
    run: Callable[[int | None], object],
    done_url: str,
    done_message: str = "",
) -> HttpResponse:
    """An action that cannot be taken back: a GET shows what it will do and asks; the
    POST from that page runs it with the version the page showed."""
    event = event_or_404(pk)
    if request.method != "POST":
        return render(request, "events/event_confirm.html", {"event": event, "action": action})
    failed = act_on_event(request, pk, lambda version, _to: run(version))
    if failed:
        return failed
    if done_message:
        messages.success(request, done_message)
    return HttpResponseRedirect(done_url)


@editor
def event_delete(request: SignedInRequest, pk: int) -> HttpResponse:
    return act_on_event_confirmed(
        request,
        pk,
        action="delete",
        run=lambda version: services.event_delete_draft(
            actor=request.user, event_id=pk, expected_version=version
        ),
        done_url=reverse("events:list"),
        done_message=_("The draft was deleted."),
    )
