"""Generic input checks that give a clear message per field before the database refuses."""

from __future__ import annotations

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
