"""Strict request bodies: what the API accepts, refused precisely when it is wrong.

Plain pydantic models (not ninja.Schema) in strict mode with unknown fields forbidden:
no "1" for 1, no 0 for false, no silently dropped typo. Text is bounded and refuses NUL
bytes (PostgreSQL cannot store them). Dates, times and money come as JSON strings in ISO
form (JSON has no such types), checked here, never coerced from numbers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from crewcall.core.validation import parse_day, parse_moment


class Input(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=False)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Text cannot contain NUL bytes.")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("This field cannot be blank.")
    return value


def text(max_length: int, *, blank: bool = True) -> Any:
    """A bounded string without NUL bytes; `blank=False` refuses "" and whitespace."""
    checks: list[Any] = [StringConstraints(max_length=max_length), AfterValidator(_no_nul)]
    if not blank:
        checks.append(AfterValidator(_not_blank))
    return Annotated[str, *checks]


def _iso(kind: str, parse: Any) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"Give the {kind} as a string ({_EXAMPLES[kind]}).")
        if len(value) > 40 or "\x00" in value:
            raise ValueError(f"This is not a {kind}.")
        try:
            return parse(value)
        except ValueError:
            raise ValueError(f"This is not a valid {kind} ({_EXAMPLES[kind]}).") from None

    return BeforeValidator(check)


_EXAMPLES = {
    "date": "YYYY-MM-DD, years 1900 to 2999",
    "time": "HH:MM or HH:MM:SS, without an offset",
    "date and time": "ISO 8601 with its UTC offset (at most ±14:00), years 1900 to 2999",
    "amount": 'a decimal string such as "15.50"',
}


def _wall_clock_time(value: str) -> dt.time:
    parsed = dt.time.fromisoformat(value)
    if parsed.tzinfo is not None:  # event times are wall-clock times in the agency's zone
        raise ValueError("has an offset")
    return parsed


TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


def _decimal(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError("bad decimal") from None
    if not amount.is_finite():
        raise ValueError("not finite")
    return amount


IsoDate = Annotated[
    dt.date,
    _iso("date", parse_day),
    Field(strict=False),
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
]
IsoTime = Annotated[
    dt.time,
    _iso("time", _wall_clock_time),
    Field(strict=False),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN, "description": "HH:MM or HH:MM:SS"}),
]
IsoDateTime = Annotated[dt.datetime, _iso("date and time", parse_moment), Field(strict=False)]


def money(*, max_digits: int = 10, decimal_places: int = 2, ge: str = "0", le: str | None = None) -> Any:
    """A non-negative amount as a decimal string, at most `decimal_places` after the point."""
    bounds: dict[str, Any] = {"ge": Decimal(ge), "max_digits": max_digits, "decimal_places": decimal_places}
    if le is not None:
        bounds["le"] = Decimal(le)
    whole = max_digits - decimal_places
    described = WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^[0-9]{{1,{whole}}}(\.[0-9]{{1,{decimal_places}}})?$",
            "description": f"An amount as a decimal string, from {ge}" + (f" to {le}" if le else ""),
        }
    )
    return Annotated[Decimal, _iso("amount", _decimal), Field(strict=False, **bounds), described]


def bounded_int(ge: int, le: int) -> Any:
    return Annotated[int, Field(ge=ge, le=le)]


Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
