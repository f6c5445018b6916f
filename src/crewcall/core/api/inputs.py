"""Strict request bodies: what the API accepts, refused precisely when it is wrong.

Plain pydantic models (not ninja.Schema) in strict mode with unknown fields forbidden:
no "1" for 1, no 0 for false, no silently dropped typo. Text is bounded and refuses NUL
bytes (PostgreSQL cannot store them). Dates, times and money come as JSON strings in ISO
form (JSON has no such types), checked here, never coerced from numbers.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import typing
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
    model_validator,
)

from crewcall.core.validation import parse_day, parse_moment


class Input(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        """JSON has numbers, not ints and floats: 3.0 is the integer 3 (as JSON Schema's
        "integer" says), so it is taken for an integer field; 3.5, "3" and true are not."""
        if not isinstance(data, dict):
            return data
        whole = _integer_fields(cls)
        return {name: _whole(value) if name in whole else value for name, value in data.items()}


@functools.cache
def _integer_fields(model: type[BaseModel]) -> frozenset[str]:
    names = set()
    for name, field in model.model_fields.items():
        kinds = typing.get_args(field.annotation) or (field.annotation,)
        kinds = tuple(typing.get_args(k)[0] if typing.get_origin(k) is Annotated else k for k in kinds)
        if int in kinds and bool not in kinds:
            names.add(field.alias or name)
    return frozenset(names)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Text cannot contain NUL bytes.")
    return value


# Python's whitespace (str.isspace), spelled out: JSON Schema's `\s` is ECMAScript's, a
# different set, so "not blank" is written as one character class both read alike.
_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
# Text holds no NUL (PostgreSQL cannot store it); the patterns say so too.
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = rf"^[^\x00]*[^{_SPACE}\x00][^\x00]*$"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("This field cannot be blank.")
    return value


def text(max_length: int, *, blank: bool = True) -> Any:
    """A bounded string without NUL bytes; `blank=False` refuses "" and whitespace (and
    says so in the schema: a pattern asking for one character that is not whitespace)."""
    checks: list[Any] = [StringConstraints(max_length=max_length), AfterValidator(_no_nul)]
    if not blank:
        checks.append(AfterValidator(_not_blank))
    checks.append(Field(json_schema_extra={"pattern": NO_NUL if blank else NOT_BLANK}))
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


# What parse_day and parse_moment accept, as patterns (a schema-valid value is never
# refused as malformed): years 1900 to 2999, offsets within ±14:00.
YEAR = r"(19[0-9]{2}|2[0-9]{3})"
DAY = YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DAY_PATTERN = f"^{DAY}$"


def moment_pattern(year: str = YEAR) -> str:
    """An ISO 8601 moment with its offset (at most ±14:00), in the years `year` matches."""
    day = year + DAY.removeprefix(YEAR)
    return (
        f"^{day}T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{{1,6}})?)?"
        r"(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)$"
    )


MOMENT_PATTERN = moment_pattern()

IsoDate = Annotated[
    dt.date,
    _iso("date", parse_day),
    Field(strict=False),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]
IsoTime = Annotated[
    dt.time,
    _iso("time", _wall_clock_time),
    Field(strict=False),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN, "description": "HH:MM or HH:MM:SS"}),
]
IsoDateTime = Annotated[
    dt.datetime,
    _iso("date and time", parse_moment),
    Field(strict=False),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": MOMENT_PATTERN}),
]


def _digits_upto(limit: str) -> str:
    """A regex for the whole numbers 0 to `limit` (leading zeros allowed)."""
    shorter = f"[0-9]{{1,{len(limit) - 1}}}" if len(limit) > 1 else None
    same = [limit]
    for i, digit in enumerate(limit):
        if digit != "0":
            low = f"[0-{int(digit) - 1}]" if digit != "1" else "0"
            rest = f"[0-9]{{{len(limit) - i - 1}}}" if i < len(limit) - 1 else ""
            same.append(limit[:i] + low + rest)
    return "|".join(([shorter] if shorter else []) + same)


def money(*, max_digits: int = 10, decimal_places: int = 2, ge: str = "0", le: str | None = None) -> Any:
    """A non-negative amount as a decimal string, at most `decimal_places` after the point."""
    bounds: dict[str, Any] = {"ge": Decimal(ge), "max_digits": max_digits, "decimal_places": decimal_places}
    if le is not None:
        bounds["le"] = Decimal(le)
    whole = max_digits - decimal_places
    fraction = rf"(\.[0-9]{{1,{decimal_places}}})?"
    pattern = rf"^[0-9]{{1,{whole}}}{fraction}$"
    if le is not None and Decimal(le) < Decimal(10) ** whole - 1:
        # A bound below what the digits allow: the pattern says it too.
        top = Decimal(le).to_integral_value(rounding="ROUND_FLOOR")
        below, at = _digits_upto(str(top - 1)), str(top)
        rest = f"(\\.0{{1,{decimal_places}}})?" if top == Decimal(le) else fraction
        pattern = rf"^(({below}){fraction}|{at}{rest})$"
    described = WithJsonSchema(
        {
            "type": "string",
            "pattern": pattern,
            "description": f"An amount as a decimal string, from {ge}" + (f" to {le}" if le else ""),
        }
    )
    shape = re.compile(pattern)

    def parse(value: str) -> Decimal:
        # The schema's pattern is the rule ("1e2" and "0744" do not fit it), not Decimal's.
        if not shape.match(value):
            raise ValueError("not an amount")
        return _decimal(value)

    return Annotated[Decimal, _iso("amount", parse), Field(strict=False, **bounds), described]


def _whole(value: Any) -> Any:
    return int(value) if type(value) is float and value.is_integer() else value


# For an integer inside a list or mapping, where Input's own conversion does not reach:
# 3.0 is the integer 3 there too. Put it after any Field bounds in the Annotated.
whole_number = BeforeValidator(_whole)


def bounded_int(ge: int, le: int) -> Any:
    return Annotated[int, Field(ge=ge, le=le)]


Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
