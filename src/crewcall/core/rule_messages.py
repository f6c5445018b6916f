"""Plain words for the database's own constraint refusals (triggers word theirs)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# PostgreSQL's own wording for constraint failures; our triggers word their refusals.
POSTGRES_WORDING = (
    "new row for relation",
    "duplicate key value",
    "conflicting key value",
    "insert or update",
)
GENERIC_RULES: dict[str, Promise] = {
    "not_blank": _("This field is required."),
    "non_negative": _("This cannot be negative."),
    "positive": _("This must be at least 1."),
    "known": _("This is not one of the accepted values."),
    "format": _("This has the wrong format."),
    "unique": _("This is already there."),
    "unique_in_event": _("There is already one of these for this event."),
    "after_start": _("This must be after the start."),
    "same_event": _("This belongs to another event."),
    "invited": _("Only for someone invited to this event."),
    "in_range": _("Years 1900 to 2999 only."),
}
RULE_MESSAGES: dict[str, Promise] = {
    "events_event__employees_to_ask__covers_needed": _("Ask at least as many people as the event needs."),
    "events_event__end_time__after_start": _(
        "The end must be after the start (for a shift past midnight, mark it as ending the next day)."
    ),
    "events_event__event_date__required": _("An event needs a date."),
    "events_event__is_template__plain": _("A template stays a draft and is made from no other template."),
    "people_employee__phone_number__unique_active": _("Another active employee has this phone number."),
    "people_employee__phone_number__e164": _("Phone numbers are stored as +<country><number>."),
    "people_absence__starts_on__no_overlap": _("This absence overlaps another absence of this employee."),
    "staffing_invitation__employee__unique_in_event": _("This employee is already invited to this event."),
    "staffing_worklog__employee__unique_in_event": _(
        "Hours for this employee and event are already recorded."
    ),
    "staffing_worklog__break_minutes__shorter_than_shift": _("The break must be shorter than the shift."),
    "staffing_worklog__ended_at__within_a_day": _("A shift lasts at most 24 hours."),
    "staffing_worklog__approved_at__locked": _(
        "These hours are approved and locked; reopen them to change them."
    ),
    "events_workarea__name__unique_in_event": _("This event already has a work area with this name."),
    "events_assignment__employee__unique_in_event": _("This employee is already placed at this event."),
}


def rule_message(constraint: str) -> str:
    """What a refused constraint means, in words (in the active language, as text);
    names follow <table>__<field>__<rule>."""
    if constraint in RULE_MESSAGES:
        return str(RULE_MESSAGES[constraint])
    generic = GENERIC_RULES.get(constraint.rsplit("__", 1)[-1])
    return str(generic) if generic is not None else gettext("This value breaks a rule of the data.")


def rule_field(constraint: str) -> str:
    # Constraints are named <table>__<field>__<rule>, so the field can be read off the name.
    parts = constraint.split("__")
    return parts[1] if len(parts) >= 3 else "__all__"
