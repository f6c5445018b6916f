"""The history page in words: field labels instead of column names, a role's name instead
of its id, "Accepted" instead of `accepted`, "Changed" instead of `update`, local times.

The API's history (web/api.py) keeps the stored values: a program wants those. This is
the page's reading of the same entries; every related object named on a page costs one
query per kind of object, however many entries show it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crewcall.web.selectors import NOT_A_CHANGE, Kind

FIELD_LABELS: dict[str, Promise] = {
    "anonymised_at": _("Anonymised at"), "approved_at": _("Approved at"), "approved_by": _("Approved by"),
    "archived_at": _("Archived at"), "asked_at": _("Asked at"), "assigned_by": _("Placed by"),
    "attempts": _("Attempts"), "body": _("Text"), "break_minutes": _("Break (minutes)"),
    "button_payload": _("Button answer"), "claimed_at": _("Claimed at"), "color_theme": _("Colour"),
    "completed_at": _("Completed at"), "created_at": _("Created at"), "created_by": _("Created by"),
    "date_joined": _("Joined at"), "delivered_at": _("Delivered at"), "description": _("Description"),
    "email": _("Email"), "employee": _("Employee"), "employees_needed": _("People needed"),
    "employees_to_ask": _("People to ask"), "employment_type": _("Employment type"),
    "end_time": _("End"), "ended_at": _("End"), "ends_next_day": _("Ends the next day"),
    "ends_on": _("Last day"), "error_code": _("Error code"), "error_message": _("Error"),
    "event": _("Event"), "event_date": _("Date"), "failed_at": _("Failed at"),
    "first_name": _("First name"), "from_number": _("From"), "hourly_rate": _("Hourly rate"),
    "hours": _("Hours"), "invitation": _("Invitation"), "is_active": _("Active"),
    "is_always_needed": _("Always needed"), "is_staff": _("Staff"), "is_superuser": _("Superuser"),
    "is_template": _("Template"), "key": _("Key"), "kind": _("Kind"), "last_login": _("Last sign-in"),
    "last_name": _("Last name"), "last_used_at": _("Last used at"), "link_version": _("Link version"),
    "location": _("Location"), "max_capacity": _("Capacity"),
    "monthly_earnings_cap": _("Monthly earnings cap"), "monthly_hours_cap": _("Monthly hours cap"),
    "name": _("Name"), "next_attempt_at": _("Next attempt at"), "note": _("Note"), "notes": _("Notes"),
    "outcome": _("Outcome"), "outcome_detail": _("Outcome detail"), "password": _("Password"),
    "phone_number": _("Phone number"), "pick_reason": _("Why this person was asked"),
    "position_order": _("Position"), "preferred_language": _("Language"), "primary_role": _("Primary role"),
    "priority": _("Priority"), "provider": _("Provider"), "read_at": _("Read at"),
    "received_at": _("Received at"), "reply_deadline": _("Reply by"), "responded_at": _("Answered at"),
    "response_method": _("Answered by"), "revoked_at": _("Revoked at"), "role": _("Role"),
    "role_requirements": _("Roles needed"), "sent_at": _("Sent at"), "specialties": _("Specialties"),
    "start_time": _("Start"), "started_at": _("Start"), "starts_on": _("First day"), "status": _("Status"),
    "template": _("Template"), "title": _("Title"), "to_number": _("To"), "user": _("Account"),
    "username": _("User name"), "wave": _("Wave"), "work_area": _("Work area"),
}  # fmt: skip
ACTIONS: dict[str, Promise] = {"insert": _("Created"), "update": _("Changed"), "delete": _("Deleted")}
SOURCES: dict[str, Promise] = {
    "web": _("web page"), "api": _("API"), "webhook": _("WhatsApp"), "worker": _("background job"),
    "cli": _("command line"), "repair": _("integrity repair"), "migration": _("update of Crewcall"),
}  # fmt: skip
NAME_FIELDS = ("name", "title", "username")


def field_label(field: models.Field[Any, Any] | None, attname: str) -> str:
    name = field.name if field is not None else attname.removesuffix("_id")
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else capfirst(name.replace("_", " "))


def _names_of(related: dict[type[models.Model], set[Any]]) -> dict[tuple[type[models.Model], Any], str]:
    """The display name of every related object shown: one query per kind of object."""
    names: dict[tuple[type[models.Model], Any], str] = {}
    for model, ids in related.items():
        present = [f for f in NAME_FIELDS if any(field.name == f for field in model._meta.concrete_fields)]
        if not present:
            continue
        for row in model._base_manager.filter(pk__in=ids).values("pk", *present):
            shown = next((str(row[f]) for f in present if row[f]), "")
            if shown:
                names[(model, row["pk"])] = shown
    return names


def _value(field: models.Field[Any, Any] | None, value: Any, names: dict[Any, str]) -> str:
    if value is None:
        return "—"
    if value == "":
        return "“”"
    if field is not None and field.is_relation and field.related_model is not None:
        return names.get((field.related_model, value), f"#{value}")
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def readable_entries(kind: Kind, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The selector's entries with `fields` ([{name, before, after}] in words), `action`
    and `source` in words; `first` when the entry is the object's first."""
    model = apps.get_model(kind.app_label, kind.model)
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    related: dict[type[models.Model], set[Any]] = defaultdict(set)
    for entry in entries:
        values = entry["row"] if entry["changes"] is None else entry["changes"]
        for attname, value in values.items():
            field = by_attname.get(attname)
            if field is None or not field.is_relation or field.related_model is None:
                continue
            pairs = [value] if entry["changes"] is None else [value["before"], value["after"]]
            related[field.related_model].update(v for v in pairs if v is not None)
    names = _names_of(related)
    shown = []
    for entry in entries:
        if entry["changes"] is None:  # the first entry: what the object started with
            pairs = [(k, None, v) for k, v in entry["row"].items() if k not in NOT_A_CHANGE]
        else:
            pairs = [(k, c["before"], c["after"]) for k, c in entry["changes"].items()]
        fields = [
            {
                "name": field_label(by_attname.get(k), k),
                "before": None if entry["changes"] is None else _value(by_attname.get(k), before, names),
                "after": _value(by_attname.get(k), after, names),
            }
            for k, before, after in pairs
        ]
        source = entry["context"].get("source")
        shown.append(
            {
                **entry,
                "fields": fields,
                "first": entry["changes"] is None,
                "action": str(ACTIONS.get(entry["label"], entry["label"])),
                "source_words": str(SOURCES.get(source, source)) if source else "—",
            }
        )
    return shown
