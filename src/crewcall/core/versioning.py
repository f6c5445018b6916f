"""Optimistic concurrency: every update names the version it read, and the UPDATE itself
checks it (`… WHERE id = %s AND version = %s`), so no interleaving can slip between a
check and a write. The version is bumped by the database (trigger crewcall_row_version).

Services whose rules need the current row first lock it (`lock_current`, SELECT … FOR
UPDATE) and refuse a stale version before any rule runs; their write is still the
conditional UPDATE. Plain field edits skip the lock: one statement (`update_versioned`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.db import connection, models
from django.utils.translation import gettext as _

from crewcall.core.errors import NotFound, ValidationFailed, VersionConflict

M = TypeVar("M", bound=models.Model)
# The condition that makes an UPDATE refuse a stale version (tests switch it off to show
# the race it prevents).
VERSION_CONDITION = "AND version = %s"


def require_version(expected_version: int | None) -> int:
    if expected_version is None:
        raise ValidationFailed.single("version", _("The version you read is required to change this."))
    return expected_version


def lock_current(model: type[M], *, pk: Any, expected_version: int | None) -> M:
    expected = require_version(expected_version)
    obj = get_or_not_found(model, pk=pk, lock=True)
    current = obj.version  # type: ignore[attr-defined]
    if current != expected:
        raise VersionConflict(entity=str(model._meta.verbose_name), pk=pk, expected=expected, current=current)
    return obj


def get_or_not_found(model: type[M], *, pk: Any, lock: bool = False) -> M:
    qs = model._default_manager.all()
    if lock:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=pk)
    except model.DoesNotExist:  # type: ignore[attr-defined]
        raise NotFound(
            _("%(entity)s %(pk)s does not exist.") % {"entity": model._meta.verbose_name, "pk": pk}
        ) from None


def _conflict_or_missing(model: type[models.Model], pk: Any, expected: int) -> VersionConflict | NotFound:
    current = model._default_manager.filter(pk=pk).values_list("version", flat=True).first()
    if current is None:
        return NotFound(
            _("%(entity)s %(pk)s does not exist.") % {"entity": model._meta.verbose_name, "pk": pk}
        )
    return VersionConflict(entity=str(model._meta.verbose_name), pk=pk, expected=expected, current=current)


def _plain(value: Any) -> Any:
    # A related object is written as its key, as Model.save() would.
    return value.pk if isinstance(value, models.Model) else value


def _conditional_update(
    model: type[M], *, pk: Any, expected: int, values: Mapping[str, Any], where_sql: str = ""
) -> tuple[Any, ...] | None:
    """UPDATE … WHERE pk AND version [AND where_sql] RETURNING every column, or None."""
    meta = model._meta
    quote = connection.ops.quote_name
    fields: list[tuple[Any, Any]] = [(meta.get_field(name), value) for name, value in values.items()]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f, _value in fields)
    params = [f.get_db_prep_save(_plain(value), connection) for f, value in fields]
    columns = ", ".join(quote(str(f.column)) for f in meta.concrete_fields)
    pk_column = str(meta.pk.column) if meta.pk is not None else "id"
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 (names from the model)
        f"WHERE {quote(pk_column)} = %s {VERSION_CONDITION} {where_sql} RETURNING {columns}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, pk, expected])
        return cursor.fetchone()


def _from_row(model: type[M], row: tuple[Any, ...]) -> M:
    fields = model._meta.concrete_fields
    values = []
    for field, value in zip(fields, row, strict=True):
        convert = getattr(field, "from_db_value", None)
        if convert is not None and value is not None:
            value = convert(value, None, connection)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def update_versioned(
    model: type[M],
    *,
    pk: Any,
    expected_version: int | None,
    values: Mapping[str, Any],
    where_sql: str = "",
    refused: Exception | None = None,
) -> M:
    """Write `values` if the row is still at `expected_version`, in one statement.

    With `where_sql` (a further condition on the row), a row that is current but fails it
    raises `refused`. No values: the version is still checked (nothing is written)."""
    expected = require_version(expected_version)
    if not values:
        obj = get_or_not_found(model, pk=pk)
        if obj.version != expected:  # type: ignore[attr-defined]
            raise _conflict_or_missing(model, pk, expected)
        return obj
    row = _conditional_update(model, pk=pk, expected=expected, values=values, where_sql=where_sql)
    if row is not None:
        return _from_row(model, row)
    problem = _conflict_or_missing(model, pk, expected)
    if isinstance(problem, VersionConflict) and problem.current == expected and refused is not None:
        raise refused
    raise problem


def apply_changes(obj: M, changes: Mapping[str, Any], *, allowed: Iterable[str]) -> list[str]:
    """Set the given fields on a row read in this transaction, refusing unknown fields by
    name; writes only what changed, on condition the row is still at the version read."""
    allowed_set = set(allowed)
    unknown = sorted(set(changes) - allowed_set)
    if unknown:
        raise ValidationFailed({name: [_("This field cannot be changed here.")] for name in unknown})
    changed = [name for name, value in changes.items() if getattr(obj, name) != value]
    if not changed:
        return changed
    read = obj.version  # type: ignore[attr-defined]
    row = _conditional_update(type(obj), pk=obj.pk, expected=read, values={n: changes[n] for n in changed})
    if row is None:
        raise _conflict_or_missing(type(obj), obj.pk, read)
    fresh = _from_row(type(obj), row)
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(fresh, field.attname))
    return changed
