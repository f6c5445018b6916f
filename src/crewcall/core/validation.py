"""Generic input checks that give a clear message per field before the database refuses."""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext as _

from crewcall.core.errors import ValidationFailed


def require_text(field: str, value: str, *, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed.single(field, _("This field is required."))
    if len(value) > max_length:
        raise ValidationFailed.single(field, _("At most %(count)s characters.") % {"count": max_length})
    if "\x00" in value:
        raise ValidationFailed.single(field, _("NUL characters are not allowed."))
    return value


# The days and moments the product takes: years 1900 to 2999. Python's dates end at 9999
# and PostgreSQL's offsets at ±15:59; inside these bounds date arithmetic (asking ahead,
# deadlines, weekly copies) and conversion to UTC never overflow.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
FIRST_MOMENT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
AFTER_LAST_MOMENT = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
# No place on earth is further from UTC.
MAX_UTC_OFFSET = dt.timedelta(hours=14)
_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ISO_MOMENT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")


def parse_day(value: str) -> dt.date:
    """YYYY-MM-DD only (Python also reads 20260101 and 2026-W01-1), years 1900 to 2999;
    ValueError otherwise."""
    if not _ISO_DAY.match(value):
        raise ValueError("not YYYY-MM-DD")
    day = dt.date.fromisoformat(value)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError("out of range")
    return day


def parse_moment(value: str) -> dt.datetime:
    """An ISO 8601 date and time with its UTC offset (at most ±14:00), years 1900 to
    2999; ValueError otherwise (a time without an offset is ambiguous)."""
    if not _ISO_MOMENT.match(value):
        raise ValueError("not YYYY-MM-DDTHH:MM")
    moment = dt.datetime.fromisoformat(value)
    offset = moment.utcoffset()
    if offset is None or abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("naive or offset out of range")
    if not FIRST_MOMENT <= moment < AFTER_LAST_MOMENT:
        raise ValueError("out of range")
    return moment
