"""Reads for people, each with a fixed number of queries whatever the result size."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db.models import CharField, Func, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Lower

from crewcall.core.errors import ValidationFailed
from crewcall.people.models import Absence, Employee, EmploymentTypeLimit, Role, Skill

# Letters folded to their base for searching names ("muller" finds Müller); the same
# mapping in Python (for the search text) and in SQL (translate(), for the names).
_ACCENTED = "àáâãäåāăąçćčďèéêëēėęěìíîïīįñńňòóôõöōőřśšşťùúûüūůűųýÿžźż"
_PLAIN = "".join(unicodedata.normalize("NFKD", c)[0] for c in _ACCENTED)
_ACCENTED, _PLAIN = _ACCENTED + "øłß", _PLAIN + "ols"
_FOLD = str.maketrans(_ACCENTED, _PLAIN)


def _folded_name() -> Func:
    return Func(
        Lower("name"), Value(_ACCENTED), Value(_PLAIN), function="translate", output_field=CharField()
    )


def _phone_fragments(search: str) -> list[str]:
    """What a searched phone number may be as stored (E.164), spaces and dashes dropped:
    the digits as typed (a part of the number) and, for "0151 234" or "0049 151", the
    number read as German or international ("+49151234", "+49151")."""
    compact = re.sub(r"[\s\-/().]", "", search)
    if not re.fullmatch(r"\+?\d{3,}", compact):
        return []
    if compact.startswith("00"):
        return [compact, "+" + compact[2:]]
    if compact.startswith("0"):
        return [compact, "+49" + compact[1:]]
    return [compact]


def employee_search(qs: QuerySet[Employee], search: str) -> QuerySet[Employee]:
    """Employees whose name contains `search` (case and accents ignored) or whose phone
    number contains it (spaces ignored, a national number read as German)."""
    search = search.strip()
    if not search:
        return qs
    matches = Q(name_folded__contains=search.lower().translate(_FOLD))
    for fragment in _phone_fragments(search):
        matches |= Q(phone_number__contains=fragment)
    return qs.annotate(name_folded=_folded_name()).filter(matches)


def employee_list(
    *, search: str = "", active: bool | None = True, role_key: str | None = None
) -> QuerySet[Employee]:
    """Employees with role, skills and derived stats loaded (three queries in all)."""
    qs = Employee.objects.select_related("primary_role", "stats").prefetch_related(
        Prefetch("skills", queryset=Skill.objects.order_by("name"))
    )
    if active is not None:
        qs = qs.filter(is_active=active)
    qs = employee_search(qs, search)
    if role_key:
        qs = qs.filter(primary_role__key=role_key)
    return qs.order_by("name", "id")


def absences_overlapping(*, employee_id: int, starts_on: object, ends_on: object) -> QuerySet[Absence]:
    return Absence.objects.filter(employee_id=employee_id, starts_on__lte=ends_on, ends_on__gte=starts_on)


def employee_filter(
    *,
    search: str = "",
    role_key: str | None = None,
    skill_key: str | None = None,
    employment_type: str | None = None,
    active: bool | None = None,
) -> QuerySet[Employee]:
    """Employees for an API list: role and skills loaded (two queries per page)."""
    qs = Employee.objects.select_related("primary_role").prefetch_related(
        Prefetch("skills", queryset=Skill.objects.only("id", "key"))
    )
    qs = employee_search(qs, search)
    if role_key:
        qs = qs.filter(primary_role__key=role_key)
    if skill_key:
        qs = qs.filter(skill_links__skill__key=skill_key)
    if employment_type:
        qs = qs.filter(employment_type=employment_type)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def employee_detail(*, employee_id: int) -> Employee | None:
    """One employee with role, skills and derived stats (two queries)."""
    return (
        Employee.objects.select_related("primary_role", "stats")
        .prefetch_related(Prefetch("skills", queryset=Skill.objects.only("id", "key")))
        .filter(pk=employee_id)
        .first()
    )


def catalogue_filter(
    model: type[Role] | type[Skill], *, search: str = "", active: bool | None = None
) -> QuerySet[Any]:
    """Roles or skills for an API list (one query per page): `search` matches key or name."""
    qs = model.objects.all()
    if search:
        qs = qs.filter(Q(key__icontains=search) | Q(name__icontains=search))
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def employment_type_limit(*, employment_type: str) -> EmploymentTypeLimit | None:
    return EmploymentTypeLimit.objects.filter(employment_type=employment_type).first()


def employee_page(
    *,
    search: str = "",
    role_id: int | None = None,
    skill_id: int | None = None,
    employment_type: str | None = None,
    active: bool | None = True,
) -> QuerySet[Employee]:
    """Employees for the dispatcher's list page: role, derived stats and skills (by name)
    loaded, so a page of any size takes two queries."""
    qs = Employee.objects.select_related("primary_role", "stats").prefetch_related(
        Prefetch("skills", queryset=Skill.objects.order_by("name"))
    )
    qs = employee_search(qs, search)
    if role_id is not None:
        qs = qs.filter(primary_role_id=role_id)
    if skill_id is not None:
        qs = qs.filter(skill_links__skill_id=skill_id)
    if employment_type:
        qs = qs.filter(employment_type=employment_type)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def employee_absences(*, employee_id: int, limit: int = 100) -> list[Absence]:
    """An employee's absences, latest first (one query, at most `limit`)."""
    return list(Absence.objects.filter(employee_id=employee_id).order_by("-starts_on", "-id")[:limit])


def role_by_key(key: str, *, field: str) -> Role:
    """The role with this key, or a ValidationFailed naming `field` (the caller's input)."""
    role = Role.objects.filter(key=key).first()
    if role is None:
        raise ValidationFailed.single(field, f"There is no role {key!r}.")
    return role


def skills_by_key(keys: list[str], *, field: str) -> list[Skill]:
    """The skills with these keys, in the given order without repeats (one query), or a
    ValidationFailed naming `field` and every unknown key."""
    found = {s.key: s for s in Skill.objects.filter(key__in=keys)}
    missing = sorted(set(keys) - set(found))
    if missing:
        raise ValidationFailed.single(field, f"No such skill: {', '.join(missing)}.")
    return [found[k] for k in dict.fromkeys(keys)]
