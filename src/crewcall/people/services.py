"""Every write to people: one function per use case, one transaction each (@service)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.accounts.models import User
from crewcall.core.audit_chain import erased_name
from crewcall.core.errors import RuleViolation, ValidationFailed
from crewcall.core.transactions import service
from crewcall.core.validation import require_text
from crewcall.core.versioning import apply_changes, get_or_not_found, lock_current, update_versioned
from crewcall.people.models import (
    Absence,
    Employee,
    EmployeeSkill,
    EmploymentType,
    EmploymentTypeLimit,
    Role,
    Skill,
)
from crewcall.people.validation import normalise_phone

EMPLOYEE_EDITABLE = {
    "name",
    "phone_number",
    "primary_role",
    "employment_type",
    "is_always_needed",
    "notes",
    "preferred_language",
    "user",
}


def _key_taken(model: type[Role] | type[Skill], kind: str, key: str) -> None:
    # The unique index would refuse it too, but without naming the field.
    if model.objects.filter(key=key).exists():
        raise RuleViolation(
            field="key",
            message=(
                _("There is already a role %(key)s.")
                if kind == "role"
                else _("There is already a skill %(key)s.")
            )
            % {"key": repr(key)},
            constraint=f"people_{kind}__key__unique",
        )


def _in_use(kind: str, message: str) -> RuleViolation:
    return RuleViolation(field="key", message=message, constraint=f"people_{kind}__key__in_use")


@service
def role_create(*, actor: User | None, key: str, name: str) -> Role:
    _key_taken(Role, "role", key)
    role = Role(key=key, name=require_text("name", name, max_length=80))
    role.save()
    role.refresh_version()
    return role


@service
def skill_create(*, actor: User | None, key: str, name: str) -> Skill:
    _key_taken(Skill, "skill", key)
    skill = Skill(key=key, name=require_text("name", name, max_length=80))
    skill.save()
    skill.refresh_version()
    return skill


def _set_skills(employee: Employee, skills: list[Skill]) -> None:
    wanted = {s.pk for s in skills}
    have = set(EmployeeSkill.objects.filter(employee=employee).values_list("skill_id", flat=True))
    EmployeeSkill.objects.filter(employee=employee, skill_id__in=have - wanted).delete()
    EmployeeSkill.objects.bulk_create(
        [EmployeeSkill(employee=employee, skill_id=pk) for pk in sorted(wanted - have)]
    )


@service
def employee_create(
    *,
    actor: User | None,
    name: str,
    phone_number: str,
    primary_role: Role,
    employment_type: str,
    skills: list[Skill] | None = None,
    is_always_needed: bool = False,
    notes: str = "",
    preferred_language: str = "de",
) -> Employee:
    if employment_type not in EmploymentType.values:
        raise ValidationFailed.single(
            "employment_type", _("%(value)s is not an employment type.") % {"value": repr(employment_type)}
        )
    employee = Employee(
        name=require_text("name", name, max_length=120),
        phone_number=normalise_phone(phone_number),
        primary_role=primary_role,
        employment_type=employment_type,
        is_always_needed=is_always_needed,
        notes=notes,
        preferred_language=preferred_language,
    )
    employee.save()
    if skills:
        _set_skills(employee, skills)
    employee.refresh_version()
    return employee


@service
def employee_update(
    *,
    actor: User | None,
    employee_id: int,
    expected_version: int | None,
    changes: dict[str, Any],
    skills: list[Skill] | None = None,
) -> Employee:
    """Change fields of an employee: one conditional UPDATE (version and not anonymised)."""
    changes = dict(changes)
    unknown = sorted(set(changes) - EMPLOYEE_EDITABLE)
    if unknown:
        raise ValidationFailed({name: [_("This field cannot be changed here.")] for name in unknown})
    if "name" in changes:
        changes["name"] = require_text("name", changes["name"], max_length=120)
    if "phone_number" in changes:
        changes["phone_number"] = normalise_phone(changes["phone_number"])
    if "employment_type" in changes and changes["employment_type"] not in EmploymentType.values:
        raise ValidationFailed.single(
            "employment_type",
            _("%(value)s is not an employment type.") % {"value": repr(changes["employment_type"])},
        )
    values: dict[str, Any] = dict(changes)
    if skills is not None and not values:
        # Skills are part of the employee: changing them moves its version too.
        values["updated_at"] = timezone.now()
    employee = update_versioned(
        Employee,
        pk=employee_id,
        expected_version=expected_version,
        values=values,
        where_sql="AND anonymised_at IS NULL",
        refused=ValidationFailed.single("__all__", _("An anonymised employee cannot be changed.")),
    )
    if employee.anonymised_at is not None:
        raise ValidationFailed.single("__all__", _("An anonymised employee cannot be changed."))
    if skills is not None:
        _set_skills(employee, skills)
    return employee


@service
def employee_archive(*, actor: User | None, employee_id: int, expected_version: int | None) -> Employee:
    """Archive instead of delete: the employee keeps their history and is never asked again."""
    employee = lock_current(Employee, pk=employee_id, expected_version=expected_version)
    apply_changes(employee, {"is_active": False}, allowed={"is_active"})
    return employee


@service
def employee_restore(*, actor: User | None, employee_id: int, expected_version: int | None) -> Employee:
    employee = lock_current(Employee, pk=employee_id, expected_version=expected_version)
    if employee.anonymised_at is not None:
        raise ValidationFailed.single("__all__", _("An anonymised employee cannot be restored."))
    apply_changes(employee, {"is_active": True}, allowed={"is_active"})
    return employee


@service
def employee_link_rotate(*, actor: User | None, employee_id: int, expected_version: int | None) -> Employee:
    """Replace the employee's personal link: every link made before (with or without a last
    day) stops working; the new one is people.links.employee_link."""
    employee = lock_current(Employee, pk=employee_id, expected_version=expected_version)
    if employee.anonymised_at is not None:
        raise ValidationFailed.single("__all__", _("An anonymised employee has no link."))
    apply_changes(employee, {"link_version": employee.link_version + 1}, allowed={"link_version"})
    return employee


@service
def employee_links_renew_all(*, actor: User | None) -> None:
    """A new link epoch (after a restore): every personal link made before stops working.
    The owner's definer function picks it (people/migrations/0006): nobody can choose it."""
    with connection.cursor() as cur:
        cur.execute("SELECT crewcall_links_renew()")


@service
def employee_anonymise(*, actor: User | None, employee_id: int, expected_version: int | None) -> Employee:
    """GDPR erasure: personal data replaced everywhere it was kept or copied (history rows,
    messages, the linked account ...); hours, invitations and counts kept for statistics."""
    employee = lock_current(Employee, pk=employee_id, expected_version=expected_version)
    if employee.anonymised_at is not None:
        return employee
    employee.absences.all().delete()
    if employee.user_id is not None:
        _end_sessions(employee.user_id)
    apply_changes(
        employee,
        {
            "name": erased_name(employee.pk),
            "phone_number": None,
            "notes": "",
            "is_active": False,
            "user": None,
            "anonymised_at": timezone.now(),
        },
        allowed={"name", "phone_number", "notes", "is_active", "user", "anonymised_at"},
    )
    # The rest is beyond the runtime role (history, immutable messages): the owner's
    # definer function finds the person's rows from the id and blanks them.
    with connection.cursor() as cur:
        cur.execute("SELECT crewcall_employee_erase(%s)", [employee.pk])
    return employee


def _end_sessions(user_id: int) -> None:
    """Log the person's account out everywhere (a session names its user only inside its
    signed data, so each live one is decoded; erasure is rare)."""
    doomed = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") == str(user_id)
    ]
    Session.objects.filter(pk__in=doomed).delete()


@service
def absence_create(
    *, actor: User | None, employee_id: int, kind: str, starts_on: date, ends_on: date, note: str = ""
) -> Absence:
    employee = get_or_not_found(Employee, pk=employee_id)
    if ends_on < starts_on:
        raise ValidationFailed.single("ends_on", _("The absence cannot end before it starts."))
    absence = Absence(employee=employee, kind=kind, starts_on=starts_on, ends_on=ends_on, note=note)
    absence.save()
    absence.refresh_version()
    return absence


@service
def absence_delete(*, actor: User | None, absence_id: int, expected_version: int | None) -> None:
    absence = lock_current(Absence, pk=absence_id, expected_version=expected_version)
    absence.delete()


@service
def employment_type_limit_set(
    *,
    actor: User | None,
    employment_type: str,
    monthly_hours_cap: Decimal | None,
    monthly_earnings_cap: Decimal | None,
    expected_version: int | None = None,
) -> EmploymentTypeLimit:
    """Create the limits of a type, or change them (then the version read is required)."""
    existing = EmploymentTypeLimit.objects.filter(employment_type=employment_type).first()
    if existing is None:
        limit = EmploymentTypeLimit(
            employment_type=employment_type,
            monthly_hours_cap=monthly_hours_cap,
            monthly_earnings_cap=monthly_earnings_cap,
        )
        limit.save()
        limit.refresh_version()
        return limit
    limit = lock_current(EmploymentTypeLimit, pk=existing.pk, expected_version=expected_version)
    apply_changes(
        limit,
        {"monthly_hours_cap": monthly_hours_cap, "monthly_earnings_cap": monthly_earnings_cap},
        allowed={"monthly_hours_cap", "monthly_earnings_cap"},
    )
    return limit


@service
def role_update(
    *, actor: User | None, role_id: int, expected_version: int | None, changes: dict[str, Any]
) -> Role:
    role = lock_current(Role, pk=role_id, expected_version=expected_version)
    apply_changes(role, changes, allowed={"name", "is_active"})
    return role


@service
def role_delete(*, actor: User | None, role_id: int, expected_version: int | None) -> None:
    """Only a role nobody has or needs; the database refuses the rest (archive it instead)."""
    role = lock_current(Role, pk=role_id, expected_version=expected_version)
    # Assignments hold the role too (PROTECT): checked here, or Django's collector would
    # raise ProtectedError, which is no database refusal and surfaced as a crash.
    if role.employees.exists():
        raise _in_use("role", _("Employees have this role; archive it instead."))
    if role.assignments.exists():
        raise _in_use("role", _("People were placed in this role; archive it instead."))
    role.delete()


@service
def skill_update(
    *, actor: User | None, skill_id: int, expected_version: int | None, changes: dict[str, Any]
) -> Skill:
    skill = lock_current(Skill, pk=skill_id, expected_version=expected_version)
    apply_changes(skill, changes, allowed={"name", "is_active"})
    return skill


@service
def skill_delete(*, actor: User | None, skill_id: int, expected_version: int | None) -> None:
    skill = lock_current(Skill, pk=skill_id, expected_version=expected_version)
    if skill.employee_links.exists() or skill.work_area_links.exists():
        raise _in_use("skill", _("This skill is in use; archive it instead."))
    skill.delete()


@service
def absence_update(
    *, actor: User | None, absence_id: int, expected_version: int | None, changes: dict[str, Any]
) -> Absence:
    absence = lock_current(Absence, pk=absence_id, expected_version=expected_version)
    apply_changes(absence, changes, allowed={"kind", "starts_on", "ends_on", "note"})
    return absence
