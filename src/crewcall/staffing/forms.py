"""The staffing board's forms: what their clean values give to the staffing and events
services (the rules stay there)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crewcall.staffing.models import INVITATION_TRANSITIONS, InvitationStatus

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

ASK_MAX = 500


class AskForm(forms.Form):
    """How many to ask (empty: as many as the picker's default for the event)."""

    count = forms.IntegerField(
        label=_("How many to ask"),
        min_value=1,
        max_value=ASK_MAX,
        required=False,
        help_text=_("Leave empty to ask as many as the event is set to ask."),
    )


class AskConfirmForm(AskForm):
    """The preview's "Ask these N": the same count and the wave the preview showed, so a
    second click (or a retry) asks nobody twice."""

    wave = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class VersionForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class StatusChangeForm(VersionForm):
    """A dispatcher's change of one invitation's status (recorded as answered by hand)."""

    status = forms.ChoiceField(label=_("New status"), choices=InvitationStatus.choices)
    note = forms.CharField(label=_("Note (why)"), max_length=200, required=False)


def next_statuses(status: str) -> list[tuple[str, StrOrPromise]]:
    """The statuses an invitation in `status` may go to, as (value, label) in board order."""
    allowed = INVITATION_TRANSITIONS.get(status, frozenset())
    return [(value, label) for value, label in InvitationStatus.choices if value in allowed]


class PlaceForm(forms.Form):
    """Place one accepted person: a work area and a role of the event's board."""

    invitation = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    work_area = forms.TypedChoiceField(label=_("Work area"), coerce=int)
    role = forms.TypedChoiceField(label=_("Role"), coerce=int)

    def __init__(self, *args: Any, areas: Iterable[Any], roles: Iterable[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["work_area"].choices = [(a.pk, a.name) for a in areas]  # type: ignore[attr-defined]
        self.fields["role"].choices = [(r.pk, r.name) for r in roles]  # type: ignore[attr-defined]


class MoveForm(VersionForm):
    """Move one placement to another work area of the event (the role stays)."""

    work_area = forms.TypedChoiceField(label=_("Move to"), coerce=int)

    def __init__(self, *args: Any, areas: Iterable[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["work_area"].choices = [(a.pk, a.name) for a in areas]  # type: ignore[attr-defined]


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self) -> None:
        super().__init__(format="%H:%M")


# The service's field names for the work log, and the inputs of the hours form they map to.
HOURS_FIELDS = {"started_at": "start", "ended_at": "end", "break_minutes": "break_minutes", "note": "note"}


class HoursForm(forms.Form):
    """One person's hours as typed on the board: wall-clock times on the event's day (an
    end earlier than the start is the next morning), a break, a note. The version is the
    entry's, empty before the first save."""

    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    start = forms.TimeField(label=_("Start"), widget=TimeInput())
    end = forms.TimeField(label=_("End"), widget=TimeInput())
    break_minutes = forms.IntegerField(label=_("Break (minutes)"), max_value=24 * 60, initial=0)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") is not None and data.get("start") == data.get("end"):
            self.add_error("end", _("The end must differ from the start."))
        return data

    def times(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """Start and end as aware datetimes in the agency's time zone (night shifts end
        the next day)."""
        start = dt.datetime.combine(day, self.cleaned_data["start"])
        end = dt.datetime.combine(day, self.cleaned_data["end"])
        if end <= start:
            end += dt.timedelta(days=1)
        return timezone.make_aware(start), timezone.make_aware(end)
