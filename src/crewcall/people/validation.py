"""Input checks that give a clear message per field before the database refuses."""

from __future__ import annotations

import phonenumbers

from crewcall.core.errors import ValidationFailed


def normalise_phone(raw: str, *, region: str = "DE") -> str:
    """A phone number in E.164 (+4915112345678); national numbers are read as German."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed.single("phone_number", f"{raw!r} is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed.single("phone_number", f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def require_text(field: str, value: str, *, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed.single(field, "This field is required.")
    if len(value) > max_length:
        raise ValidationFailed.single(field, f"At most {max_length} characters.")
    if "\x00" in value:
        raise ValidationFailed.single(field, "NUL characters are not allowed.")
    return value
