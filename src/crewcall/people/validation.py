"""Input checks that give a clear message per field before the database refuses."""

from __future__ import annotations

import phonenumbers
from django.utils.translation import gettext as _

from crewcall.core.errors import ValidationFailed


def normalise_phone(raw: str, *, region: str = "DE") -> str:
    """A phone number in E.164 (+4915112345678); national numbers are read as German."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed.single(
            "phone_number", _("%(value)s is not a phone number.") % {"value": repr(raw)}
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed.single(
            "phone_number", _("%(value)s is not a valid phone number.") % {"value": repr(raw)}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def require_text(field: str, value: str, *, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed.single(field, _("This field is required."))
    if len(value) > max_length:
        raise ValidationFailed.single(field, _("At most %(count)s characters.") % {"count": max_length})
    if "\x00" in value:
        raise ValidationFailed.single(field, _("NUL characters are not allowed."))
    return value
