"""The conflict view every versioned edit form shares (web/_conflict.html).

A save that names a version someone else has since replaced writes nothing; the page
then shows both versions side by side, field by field, and offers three ways out:

- keep mine: the user's values again, now against the version the conflict view showed;
- take theirs: a link back to what is stored; nothing is written;
- merge by field: for every field that differs a radio (theirs / mine), then "Save
  merged", again against the version the conflict view showed.

The conflict form carries both sides as hidden inputs (`mine-<field>`, `theirs-<field>`)
and the choices as `pick-<field>`; `resolve(post, FormClass)` turns such a post back into
the ordinary data of the edit form, so the edit view runs its usual path (form, service,
version check). Should someone have saved again meanwhile, the service refuses the
version and the conflict view comes again, with the merged values as "yours": nothing is
lost silently. A multi-valued field (skills) is one field: picked whole.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import models
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

MINE = "mine"
THEIRS = "theirs"
RESOLVE = "resolve"  # the submit button's name: "mine" or "merge"
MERGE = "merge"


@dataclass(frozen=True)
class Row:
    """One field of the side-by-side table, both values as shown to people."""

    name: str
    label: str
    theirs: str
    yours: str
    differs: bool


@dataclass(frozen=True)
class Conflict:
    """Everything web/_conflict.html shows: the rows, both sides as hidden inputs, the
    version the view shows (which the resolving post carries) and where to go."""

    rows: list[Row]
    hidden: list[tuple[str, str]]
    version: int
    read_version: int | None
    action: str
    theirs_url: str

    @property
    def differing(self) -> list[Row]:
        return [row for row in self.rows if row.differs]


def compared_fields(form: forms.BaseForm) -> list[str]:
    """The fields a person edits: every field but the hidden ones (the version)."""
    return [name for name, field in form.fields.items() if not field.widget.is_hidden]


def data_of(form: forms.BaseForm) -> QueryDict:
    """A form's values (bound: as posted; unbound: its initial values) as the POST data
    that would give them back."""
    data = QueryDict(mutable=True)
    for bound in form:
        field, value = bound.field, bound.value()
        if isinstance(field.widget, forms.CheckboxInput):
            if value:
                data[bound.name] = "on"
            continue
        text = field.widget.format_value(value)
        if isinstance(text, list | tuple):
            data.setlist(bound.name, [str(v) for v in text if v not in (None, "")])
        else:
            data[bound.name] = "" if text is None else str(text)
    return data


def shown(field: forms.Field, value: Any) -> str:
    """A clean value as the conflict view shows it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Mapping):  # e.g. a work area's roles needed: "bartender: 2, waiter: 1"
        return ", ".join(f"{key}: {shown(field, item)}" for key, item in sorted(value.items())) or "—"
    if isinstance(value, models.QuerySet | list | tuple | set):
        return ", ".join(sorted(shown(field, item) for item in value)) or "—"
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(field, forms.ChoiceField):
        return str(dict(field.choices).get(value, value))  # type: ignore[arg-type]
    if isinstance(value, decimal.Decimal) and isinstance(field, forms.DecimalField):
        return f"{value:.{field.decimal_places or 0}f}"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)


def conflict(
    *,
    yours: forms.BaseForm,
    theirs: Mapping[str, Any],
    version: int,
    action: str,
    theirs_url: str,
    form_kwargs: Mapping[str, Any] | None = None,
) -> Conflict:
    """The conflict between `yours` (a valid bound form the service refused) and the
    stored values `theirs` (the form's initial values of the current object, at
    `version`). `form_kwargs` are what the edit view builds its form with."""
    form_class = type(yours)
    kwargs = dict(form_kwargs or {})
    theirs_data = data_of(form_class(initial=dict(theirs), **kwargs))
    mine_data = data_of(yours)
    checked = form_class(theirs_data, initial=dict(theirs), **kwargs)
    checked.is_valid()
    rows = []
    for name in compared_fields(yours):
        field = yours.fields[name]
        if name in checked.errors:  # stored, yet no longer what the form accepts: shown raw
            their_text = ", ".join(theirs_data.getlist(name)) or "—"
        else:
            their_text = shown(field, checked.cleaned_data.get(name))
        your_text = shown(field, yours.cleaned_data.get(name))
        label = str(field.label or name)
        rows.append(Row(name=name, label=label, theirs=their_text, yours=your_text,
                        differs=their_text != your_text))  # fmt: skip
    hidden = _prefixed(MINE, mine_data, rows) + _prefixed(THEIRS, theirs_data, rows)
    read = yours.cleaned_data.get("version")
    return Conflict(rows=rows, hidden=hidden, version=version, read_version=read,
                    action=action, theirs_url=theirs_url)  # fmt: skip


def _prefixed(side: str, data: QueryDict, rows: Iterable[Row]) -> list[tuple[str, str]]:
    return [(f"{side}-{row.name}", value) for row in rows for value in data.getlist(row.name)]


def resolve(post: QueryDict, form_class: type[forms.Form]) -> QueryDict:
    """The edit form's data for a post of the conflict view (keep mine, or merged by the
    choices); any other post unchanged. The version is the one the conflict view showed."""
    how = post.get(RESOLVE)
    if how not in (MINE, MERGE):
        return post
    data = QueryDict(mutable=True)
    for name, field in form_class.base_fields.items():
        if field.widget.is_hidden:
            continue
        side = post.get(f"pick-{name}") if how == MERGE else MINE
        if side not in (MINE, THEIRS):
            side = MINE
        values = post.getlist(f"{side}-{name}")
        if values:
            data.setlist(name, values)
    data["version"] = post.get("version", "")
    return data
