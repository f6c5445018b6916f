"""The staffing board's forms: what their clean values give to the staffing and events
services (the rules stay there)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crewcall.staffing.models import INVITATION_TRANSITIONS, InvitationStatus

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


def next_statuses(status: str) -> list[tuple[str, str]]:
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
