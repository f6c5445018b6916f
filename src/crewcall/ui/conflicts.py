"""The conflict view every versioned edit form shares (web/_conflict.html).

A save that names a version someone else has since replaced writes nothing; the page
then shows the versions side by side, field by field, and offers three ways out:

- keep mine: the user's values again, now against the version the conflict view showed;
- take theirs: a link back to what is stored; nothing is written;
- merge by field: for every field that differs a radio (theirs / mine), then "Save
  merged", again against the version the conflict view showed.

The merge is three-way. The edit form carries the values it was opened with as hidden
`base-<field>` inputs (`base_inputs`, rendered by `{% conflict_base form %}`); against
that base, a field only the user changed is pre-chosen "mine", a field only the other
person changed "theirs" (so a colleague's edit of a field the user never touched
survives "Save merged"), and a field both changed is left for the user to choose, with
all three values shown. A form posted without a base (an old page) compares two ways.

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


BASE = "base"


@dataclass(frozen=True)
class Row:
    """One field of the side-by-side table, the values as shown to people: theirs, yours
    and (three-way) the one both started from."""

    name: str
    label: str
    theirs: str
    yours: str
    differs: bool
    base: str | None = None

    @property
    def pick(self) -> str | None:
        """The side pre-chosen for the merge: the one that changed the field (mine when
        there is no base); None when both changed it: the user decides."""
        if self.base is None:
            return MINE
        mine_changed, theirs_changed = self.yours != self.base, self.theirs != self.base
        if mine_changed and theirs_changed:
            return None
        return THEIRS if theirs_changed else MINE


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
    three_way: bool = False

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


def base_inputs(form: forms.BaseForm) -> list[tuple[str, str]]:
    """The hidden `base-<field>` inputs of an edit form: the values it was opened with
    (unbound: its initial values; bound, shown again after an error: as posted)."""
    if form.is_bound:
        posted = form.data
        if not isinstance(posted, QueryDict):
            return []
        return [(key, value) for key in posted if key.startswith(f"{BASE}-") for value in posted.getlist(key)]
    data = data_of(form)
    return [(f"{BASE}-{name}", value) for name in compared_fields(form) for value in data.getlist(name)]


def _base_data(yours: forms.BaseForm) -> QueryDict | None:
    """The values the user's form was opened with, as that form's data; None if the post
    carried none (a page from before three-way merging)."""
    posted = getattr(yours, "data", None)
    if not isinstance(posted, QueryDict) or not any(key.startswith(f"{BASE}-") for key in posted):
        return None
    data = QueryDict(mutable=True)
    for name in compared_fields(yours):
        data.setlist(name, posted.getlist(f"{BASE}-{name}"))
    data["version"] = posted.get("version", "")
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
    base_data = _base_data(yours)
    based = None if base_data is None else form_class(base_data, initial=dict(theirs), **kwargs)
    if based is not None:
        based.is_valid()
    rows = []
    for name in compared_fields(yours):
        field = yours.fields[name]
        their_text = _text(field, checked, theirs_data, name)
        base_text = None if based is None or base_data is None else _text(field, based, base_data, name)
        your_text = shown(field, yours.cleaned_data.get(name))
        label = str(field.label or name)
        rows.append(Row(name=name, label=label, theirs=their_text, yours=your_text,
                        differs=their_text != your_text, base=base_text))  # fmt: skip
    hidden = _prefixed(MINE, mine_data, rows) + _prefixed(THEIRS, theirs_data, rows)
    # Resolved and met by yet another change, the merge starts from what this view shows.
    hidden += [
        (f"{BASE}-{name}", value) for name in compared_fields(yours) for value in theirs_data.getlist(name)
    ]
    read = yours.cleaned_data.get("version")
    return Conflict(rows=rows, hidden=hidden, version=version, read_version=read,
                    action=action, theirs_url=theirs_url, three_way=based is not None)  # fmt: skip


def _text(field: forms.Field, form: forms.BaseForm, data: QueryDict, name: str) -> str:
    if name in form.errors:  # stored, yet no longer what the form accepts: shown raw
        return ", ".join(data.getlist(name)) or "—"
    return shown(field, form.cleaned_data.get(name))


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
    for key in post:
        if key.startswith(f"{BASE}-"):
            data.setlist(key, post.getlist(key))
    data["version"] = post.get("version", "")
    return data
