"""Roles, skills, employment-type limits and the employee import over the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema

from crewcall.core.api.inputs import Input, Key, money, text

# A month has at most 744 hours; earnings fit the column (10 digits, 2 after the point).
HoursCap = money(max_digits=6, decimal_places=2, le="744")
EarningsCap = money(max_digits=10, decimal_places=2, le="99999999.99")


class CatalogueEntryOut(Schema):
    id: int
    version: int
    key: str
    name: str
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class RoleOut(CatalogueEntryOut):
    pass


class SkillOut(CatalogueEntryOut):
    pass


class CatalogueEntryIn(Input):
    key: Key
    name: text(80, blank=False)  # type: ignore[valid-type]


class CatalogueEntryPatch(Input):
    """The key never changes (work areas refer to it): add a new entry instead."""

    name: text(80, blank=False) = None  # type: ignore[valid-type]
    is_active: bool = None  # type: ignore[assignment]


class RoleIn(CatalogueEntryIn):
    pass


class RolePatch(CatalogueEntryPatch):
    pass


class SkillIn(CatalogueEntryIn):
    pass


class SkillPatch(CatalogueEntryPatch):
    pass


class EmploymentTypeLimitOut(Schema):
    id: int
    version: int
    employment_type: str
    monthly_hours_cap: Decimal | None
    monthly_earnings_cap: Decimal | None
    created_at: dt.datetime
    updated_at: dt.datetime


class EmploymentTypeLimitIn(Input):
    """Both caps, each an amount or null for no cap (PUT sends the whole object)."""

    monthly_hours_cap: HoursCap | None  # type: ignore[valid-type]
    monthly_earnings_cap: EarningsCap | None  # type: ignore[valid-type]


class EmployeeImportOut(Schema):
    created: int
