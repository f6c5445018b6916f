"""Plain words for the database's own constraint refusals (triggers word theirs)."""

from __future__ import annotations

# PostgreSQL's own wording for constraint failures; our triggers word their refusals.
POSTGRES_WORDING = (
    "new row for relation",
    "duplicate key value",
    "conflicting key value",
    "insert or update",
)
GENERIC_RULES = {
    "not_blank": "This field is required.",
    "non_negative": "This cannot be negative.",
    "positive": "This must be at least 1.",
    "known": "This is not one of the accepted values.",
    "format": "This has the wrong format.",
    "unique": "This is already there.",
    "unique_in_event": "There is already one of these for this event.",
    "after_start": "This must be after the start.",
    "same_event": "This belongs to another event.",
    "invited": "Only for someone invited to this event.",
}
RULE_MESSAGES = {
    "events_event__employees_to_ask__covers_needed": "Ask at least as many people as the event needs.",
    "events_event__end_time__after_start": (
        "The end must be after the start (for a shift past midnight, mark it as ending the next day)."
    ),
    "events_event__event_date__required": "An event needs a date.",
    "events_event__is_template__plain": "A template stays a draft and is made from no other template.",
    "people_employee__phone_number__unique_active": "Another active employee has this phone number.",
    "people_employee__phone_number__e164": "Phone numbers are stored as +<country><number>.",
    "people_absence__starts_on__no_overlap": "This absence overlaps another absence of this employee.",
    "staffing_invitation__employee__unique_in_event": "This employee is already invited to this event.",
    "staffing_worklog__employee__unique_in_event": "Hours for this employee and event are already recorded.",
    "staffing_worklog__break_minutes__shorter_than_shift": "The break must be shorter than the shift.",
    "staffing_worklog__ended_at__within_a_day": "A shift lasts at most 24 hours.",
    "events_workarea__name__unique_in_event": "This event already has a work area with this name.",
    "events_assignment__employee__unique_in_event": "This employee is already placed at this event.",
}


def rule_message(constraint: str) -> str:
    """What a refused constraint means, in words; names follow <table>__<field>__<rule>."""
    if constraint in RULE_MESSAGES:
        return RULE_MESSAGES[constraint]
    return GENERIC_RULES.get(constraint.rsplit("__", 1)[-1], "This value breaks a rule of the data.")


def rule_field(constraint: str) -> str:
    # Constraints are named <table>__<field>__<rule>, so the field can be read off the name.
    parts = constraint.split("__")
    return parts[1] if len(parts) >= 3 else "__all__"
