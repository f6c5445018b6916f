"""Optimistic concurrency: lock the row, compare the version the caller read, apply.

The row is locked (SELECT … FOR UPDATE) before the comparison, so between the check and
the write nobody else can change it; the version itself is bumped by the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.db import models

from crewcall.core.errors import NotFound, ValidationFailed, VersionConflict

M = TypeVar("M", bound=models.Model)


def lock_current(model: type[M], *, pk: Any, expected_version: int | None) -> M:
    if expected_version is None:
        raise ValidationFailed.single("version", "The version you read is required to change this.")
    try:
        obj = model._default_manager.select_for_update().get(pk=pk)
    except model.DoesNotExist:  # type: ignore[attr-defined]
        raise NotFound(f"{model._meta.verbose_name} {pk} does not exist.") from None
    current = obj.version  # type: ignore[attr-defined]
    if current != expected_version:
        raise VersionConflict(
            entity=str(model._meta.verbose_name), pk=pk, expected=expected_version, current=current
        )
    return obj


def get_or_not_found(model: type[M], *, pk: Any, lock: bool = False) -> M:
    qs = model._default_manager.all()
    if lock:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=pk)
    except model.DoesNotExist:  # type: ignore[attr-defined]
        raise NotFound(f"{model._meta.verbose_name} {pk} does not exist.") from None


def apply_changes(obj: M, changes: Mapping[str, Any], *, allowed: Iterable[str]) -> list[str]:
    """Set the given fields, refusing unknown ones by name; save only what changed."""
    allowed_set = set(allowed)
    unknown = sorted(set(changes) - allowed_set)
    if unknown:
        raise ValidationFailed({name: ["This field cannot be changed here."] for name in unknown})
    changed = [name for name, value in changes.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, changes[name])
    if changed:
        obj.save(update_fields=changed)
        obj.refresh_from_db(fields=["version", "updated_at"])
    return changed
