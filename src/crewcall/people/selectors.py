"""Reads for people, each with a fixed number of queries whatever the result size."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from crewcall.core.errors import ValidationFailed
from crewcall.people.models import Absence, Employee, EmploymentTypeLimit, Role, Skill


def employee_list(
    *, search: str = "", active: bool | None = True, role_key: str | None = None
) -> QuerySet[Employee]:
    """Employees with role, skills and derived stats loaded (three queries in all)."""
    qs = Employee.objects.select_related("primary_role", "stats").prefetch_related(
        Prefetch("skills", queryset=Skill.objects.order_by("name"))
    )
    if active is not None:
        qs = qs.filter(is_active=active)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(phone_number__contains=search))
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
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(phone_number__contains=search))
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
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(phone_number__contains=search))
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
