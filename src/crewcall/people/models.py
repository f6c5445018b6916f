"""Employees and what describes them: roles, skills, absences, employment-type limits.

Tables and constraints only; every write goes through people.services. Constraint names
follow <table>__<field>__<rule> so a refusal can be reported against its field.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from crewcall.core.audit_chain import history_meta
from crewcall.core.models import Versioned

E164 = r"^\+[1-9][0-9]{6,14}$"
KEY = r"^[a-z][a-z0-9_]{0,39}$"


class EmploymentType(models.TextChoices):
    FULL_TIME = "full_time", _("Full time")
    PART_TIME = "part_time", _("Part time")
    MINI_JOB = "mini_job", _("Mini job")
    FREELANCE = "freelance", _("Freelance")


class Language(models.TextChoices):
    GERMAN = "de", "Deutsch"
    ENGLISH = "en", "English"


@pghistory.track(model_name="RoleHistory", append_only=False, meta=history_meta())
class Role(Versioned):
    """A job an employee can do at an event (bartender, waiter, cook …).

    `key` is what work areas' role_requirements refer to; it never changes once set and a
    role still referred to cannot be deleted (triggers in migration people.0002).
    """

    key = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(key__regex=KEY), name="people_role__key__format"),
            models.CheckConstraint(condition=~Q(name=""), name="people_role__name__not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


@pghistory.track(model_name="SkillHistory", append_only=False, meta=history_meta())
class Skill(Versioned):
    key = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(key__regex=KEY), name="people_skill__key__format"),
            models.CheckConstraint(condition=~Q(name=""), name="people_skill__name__not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


@pghistory.track(model_name="EmployeeHistory", append_only=False, meta=history_meta())
class Employee(Versioned):
    """A person in the agency's pool.

    Never deleted once known: archived (`is_active=False`) or anonymised. The phone
    number is unique among active employees; an anonymised employee has none.
    """

    name = models.CharField(max_length=120)
    # NULL, not "", once anonymised: NULLs stay out of the unique index of active numbers.
    phone_number = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001
    primary_role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="employees")
    skills = models.ManyToManyField(Skill, through="EmployeeSkill", related_name="employees", blank=True)
    employment_type = models.CharField(max_length=20, choices=EmploymentType.choices)
    is_always_needed = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    notes = models.TextField(blank=True, default="")
    preferred_language = models.CharField(max_length=2, choices=Language.choices, default=Language.GERMAN)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="employee",
    )
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Part of every personal link's signature (people/links.py): one more kills them all.
    link_version = models.PositiveIntegerField(db_default=1, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name__regex=r"^\s*$"), name="people_employee__name__not_blank"
            ),
            models.CheckConstraint(
                condition=Q(phone_number__isnull=True) | Q(phone_number__regex=E164),
                name="people_employee__phone_number__e164",
            ),
            models.CheckConstraint(
                condition=Q(phone_number__isnull=False) | Q(anonymised_at__isnull=False),
                name="people_employee__phone_number__required",
            ),
            models.CheckConstraint(
                condition=Q(anonymised_at__isnull=True) | Q(is_active=False, phone_number__isnull=True),
                name="people_employee__anonymised_at__erased",
            ),
            models.CheckConstraint(
                condition=Q(employment_type__in=EmploymentType.values),
                name="people_employee__employment_type__known",
            ),
            models.CheckConstraint(
                condition=Q(preferred_language__in=Language.values),
                name="people_employee__preferred_language__known",
            ),
            models.UniqueConstraint(
                fields=["phone_number"],
                condition=Q(is_active=True),
                name="people_employee__phone_number__unique_active",
            ),
        ]
        indexes = [models.Index(Lower("name"), name="people_employee_name_lower")]

    def __str__(self) -> str:
        return self.name


@pghistory.track(model_name="EmployeeSkillHistory", append_only=False, meta=history_meta())
class EmployeeSkill(models.Model):
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="skill_links")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="employee_links")
    created_at = models.DateTimeField(db_default=models.functions.Now(), editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["employee", "skill"], name="people_employeeskill__skill__unique"),
        ]

    def __str__(self) -> str:
        return f"{self.employee_id} has {self.skill_id}"


class LinkKey(models.Model):
    """The one row whose `epoch` every personal link's signature covers (people/links.py).

    A restore renews it: the restored rows cannot know which links were replaced after the
    backup was taken, so no link made before the restore works after it. Unmanaged
    (created with its row by migration people.0006, which refuses its deletion): Django's
    test flush must not empty it. No history table: the restore that renews it records
    itself."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    epoch = models.CharField(max_length=64)
    renewed_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        managed = False
        db_table = "people_linkkey"

    def __str__(self) -> str:
        return "link key"


class EmployeeStats(models.Model):
    """Derived figures per employee, computed by the database from the work log (a view,
    `people_employee_stats`), so they can never drift from the hours recorded."""

    employee = models.OneToOneField(
        Employee, on_delete=models.DO_NOTHING, primary_key=True, related_name="stats", db_column="employee_id"
    )
    total_hours_worked = models.DecimalField(max_digits=10, decimal_places=2)
    last_worked_date = models.DateField(null=True)
    events_worked = models.IntegerField()

    class Meta:
        managed = False
        db_table = "people_employee_stats"

    def __str__(self) -> str:
        return f"{self.total_hours_worked} h"


class AbsenceKind(models.TextChoices):
    VACATION = "vacation", _("Vacation")
    SICK = "sick", _("Sick")
    BLOCKED = "blocked", _("Blocked")


@pghistory.track(model_name="AbsenceHistory", append_only=False, meta=history_meta())
class Absence(Versioned):
    """An employee unavailable on every day from `starts_on` to `ends_on`, both included.
    Two absences of one employee never overlap (exclusion constraint, migration 0002)."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="absences")
    kind = models.CharField(max_length=20, choices=AbsenceKind.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="people_absence__ends_on__after_start"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AbsenceKind.values), name="people_absence__kind__known"
            ),
        ]


@pghistory.track(model_name="EmploymentTypeLimitHistory", append_only=False, meta=history_meta())
class EmploymentTypeLimit(Versioned):
    """Monthly caps per employment type (a mini-job has a legal earnings limit)."""

    employment_type = models.CharField(max_length=20, choices=EmploymentType.choices, unique=True)
    monthly_hours_cap = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    monthly_earnings_cap = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(employment_type__in=EmploymentType.values),
                name="people_employmenttypelimit__employment_type__known",
            ),
            models.CheckConstraint(
                condition=Q(monthly_hours_cap__isnull=True) | Q(monthly_hours_cap__gte=0),
                name="people_employmenttypelimit__monthly_hours_cap__non_negative",
            ),
            models.CheckConstraint(
                condition=Q(monthly_earnings_cap__isnull=True) | Q(monthly_earnings_cap__gte=0),
                name="people_employmenttypelimit__monthly_earnings_cap__non_negative",
            ),
        ]
