"""Forms of the event pages: they parse input; the services judge it.

A form's clean values go to a service unchanged; the service's ValidationFailed comes
back onto the form as field errors (crewcall.ui.writes).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crewcall.events.models import EventStatus, Priority
from crewcall.events.selectors import templates_in_use
from crewcall.events.services import MAX_ROLE_COUNT, MAX_WEEKLY_COPIES
from crewcall.people.models import Skill

# Bounds that keep a number inside what the database column can hold.
HEADCOUNT_MAX = 10_000


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self) -> None:
        super().__init__(format="%H:%M")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class VersionedForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class TemplateForm(VersionedForm):
    """The fields an event and a template share."""

    title = forms.CharField(label=_("Title"), max_length=200)
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    start_time = forms.TimeField(label=_("Start"), widget=TimeInput())
    end_time = forms.TimeField(label=_("End"), required=False, widget=TimeInput())
    ends_next_day = forms.BooleanField(label=_("Ends the next day"), required=False)
    # localize: "5,50" in German, "5.50" in English (the reader's language, as shown).
    hourly_rate = forms.DecimalField(label=_("Hourly rate"), max_digits=8, decimal_places=2, localize=True)
    employees_needed = forms.IntegerField(label=_("People needed"), max_value=HEADCOUNT_MAX)
    employees_to_ask = forms.IntegerField(
        label=_("People to ask"),
        max_value=HEADCOUNT_MAX,
        required=False,
        help_text=_("Leave empty to ask as many as are needed."),
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    specialties = forms.CharField(
        label=_("Specialties"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def values(self) -> dict[str, Any]:
        """The clean values for the service, without the version."""
        data = {name: value for name, value in self.cleaned_data.items() if name != "version"}
        if data.get("employees_to_ask") is None:
            data["employees_to_ask"] = data.get("employees_needed")
        return data


class EventForm(TemplateForm):
    event_date = forms.DateField(label=_("Date"), widget=DateInput())
    reply_deadline = forms.DateTimeField(label=_("Reply deadline"), required=False, widget=DateTimeInput())

    field_order = [
        "title", "event_date", "start_time", "end_time", "ends_next_day", "location",
        "hourly_rate", "employees_needed", "employees_to_ask", "reply_deadline",
        "description", "specialties",
    ]  # fmt: skip


class FromTemplateForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Template"), queryset=templates_in_use(), empty_label=None)
    event_date = forms.DateField(label=_("Date"), widget=DateInput())
    title = forms.CharField(
        label=_("Title"), max_length=200, required=False, help_text=_("Leave empty for the template's title.")
    )


class WeeklyCopiesForm(forms.Form):
    count = forms.IntegerField(
        label=_("Number of weekly copies"), min_value=1, max_value=MAX_WEEKLY_COPIES, initial=4
    )


class StatusForm(VersionedForm):
    to_status = forms.CharField(required=False)


class EventFilterForm(forms.Form):
    """The list's filter (a GET form): status, upcoming or past, an optional date range."""

    STATUSES = [("", _("All"))] + [(value, label) for value, label in EventStatus.choices]
    WHEN = [("upcoming", _("Upcoming")), ("past", _("Past"))]

    status = forms.ChoiceField(label=_("Status"), choices=STATUSES, required=False)
    when = forms.ChoiceField(label=_("When"), choices=WHEN, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("Must be on or after the start of the range."))
        return data


# ── the work-area editor (events/views/work_areas.py) ───────────────────────

# One role requirement as typed: "bartender: 2", "bartender=2", "bartender 2", "2 x bartender"
# (or with the multiplication sign), "2 bartender"; several separated by commas, semicolons
# or lines.
_COUNT_FIRST = re.compile(r"^(\d+)\s*(?:[x\N{MULTIPLICATION SIGN}*]\s*)?([A-Za-z][\w-]*)$")
_ROLE_FIRST = re.compile(r"^([A-Za-z][\w-]*)\s*[:=]?\s*(\d+)$")
CAPACITY_MAX = 100_000


def parse_role_requirements(text: str) -> dict[str, int]:
    """The role → count object of what the dispatcher typed. Only the shape is judged
    here; which roles exist and how counts fit the capacity is the service's rule."""
    requirements: dict[str, int] = {}
    for item in re.split(r"[,;\n]+", text or ""):
        item = item.strip()
        if not item:
            continue
        match = _COUNT_FIRST.match(item)
        if match:
            count, role = match.group(1), match.group(2)
        elif match := _ROLE_FIRST.match(item):
            role, count = match.group(1), match.group(2)
        else:
            raise forms.ValidationError(
                _("Write each role with its count, like “bartender: 2”; “%(item)s” is not like that."),
                params={"item": item[:40]},
            )
        if role in requirements:
            raise forms.ValidationError(_("“%(role)s” is listed twice."), params={"role": role})
        if len(count) > len(str(MAX_ROLE_COUNT)):
            raise forms.ValidationError(_("The count for “%(role)s” is too large."), params={"role": role})
        requirements[role] = int(count)
    return requirements


def format_role_requirements(requirements: dict[str, Any]) -> str:
    return ", ".join(f"{count} \N{MULTIPLICATION SIGN} {role}" for role, count in requirements.items())


class WorkAreaForm(VersionedForm):
    """A work area's editable fields (the version is the one read)."""

    name = forms.CharField(label=_("Name"), max_length=100)
    max_capacity = forms.IntegerField(
        label=_("Capacity"), max_value=CAPACITY_MAX, help_text=_("How many people can work here at most.")
    )
    role_requirements = forms.CharField(
        label=_("Roles needed"),
        required=False,
        max_length=2000,
        help_text=_("For example “bartender: 2, waiter: 1”. Other roles fill the places left over."),
    )
    required_skills = forms.ModelMultipleChoiceField(
        label=_("Required skills"),
        queryset=Skill.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.MEDIUM)
    is_active = forms.BooleanField(
        label=_("Active (people can be placed here)"), required=False, initial=True
    )

    def __init__(self, *args: Any, role_keys: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["required_skills"].queryset = Skill.objects.order_by("name", "id")  # type: ignore[attr-defined]
        if role_keys:
            self.fields["role_requirements"].help_text = _(
                "For example “bartender: 2, waiter: 1”. Other roles fill the places left over. "
                "Roles: %(roles)s."
            ) % {"roles": ", ".join(role_keys)}
        for name in ("name", "max_capacity", "role_requirements", "priority"):
            self.fields[name].widget.attrs["aria-describedby"] = f"wa-err-{name}"
        self.fields["role_requirements"].widget.attrs["autocomplete"] = "off"
        self.fields["max_capacity"].widget.attrs["inputmode"] = "numeric"

    def clean_role_requirements(self) -> dict[str, int]:
        return parse_role_requirements(self.cleaned_data.get("role_requirements") or "")

    def changes(self) -> dict[str, Any]:
        """The clean values the services take as fields (skills and version apart)."""
        return {
            name: self.cleaned_data[name]
            for name in ("name", "max_capacity", "role_requirements", "priority", "is_active")
            if name in self.cleaned_data
        }
