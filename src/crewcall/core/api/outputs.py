"""Answer bodies: plain pydantic models read straight from model instances.

ninja's own Schema wraps every object in a getter that resolves each attribute through
Python code; on a page of 50 employees that was a fifth of the request. These read
attributes directly (`from_attributes`); a relation shown by its key is turned into
the key by `keys_of`, before validation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _key_or_keys(value: Any) -> Any:
    if hasattr(value, "all"):  # a to-many relation (prefetched): its keys, sorted
        return sorted(item.key for item in value.all())
    return getattr(value, "key", value)


def keys_of(*fields: str) -> Any:
    """A validator showing related rows by their `key` (one, or a sorted list)."""
    return field_validator(*fields, mode="before")(lambda cls, value: _key_or_keys(value))
