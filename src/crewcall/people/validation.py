"""Phone numbers checked with a clear message before the database refuses (the generic
checks, such as `require_text`, are in core/validation.py)."""

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
