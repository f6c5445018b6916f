"""Admin pages for people. The catalogue (roles, skills, the limits of each employment
type) is edited here, through people.services (`ServiceAdmin`: the version the form was
read at is checked, the history names the service); employees and absences are shown
read-only: their writes go through the dispatcher's pages and the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from crewcall.accounts.requests import actor_of
from crewcall.people import services
from crewcall.people.models import Absence, Employee, EmployeeSkill, EmploymentTypeLimit, Role, Skill
from crewcall.ui.admin_base import ReadOnlyAdmin, ServiceAdmin


class CatalogueAdmin(ServiceAdmin):
    """Roles and skills: a key, a name, and whether it is still offered."""

    list_display = ("key", "name", "is_active", "version", "updated_at")
    search_fields = ("key", "name")
    list_filter = ("is_active",)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        # The key is what work areas refer to; the database refuses to change it.
        base = super().get_readonly_fields(request, obj)
        return (*base, "key") if obj is not None else tuple(base)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # A new entry starts active (what role_create / skill_create make); archiving is a change.
        fields = list(super().get_fields(request, obj))
        return fields if obj is not None else [name for name in fields if name != "is_active"]


@admin.register(Role)
class RoleAdmin(CatalogueAdmin):
    def create(self, request: HttpRequest, values: dict[str, Any]) -> Role:
        return services.role_create(actor=actor_of(request), key=values["key"], name=values["name"])

    def update(self, request: HttpRequest, obj: Any, *, version: int | None, changes: dict[str, Any]) -> None:
        services.role_update(
            actor=actor_of(request), role_id=obj.pk, expected_version=version, changes=changes
        )

    def delete(self, request: HttpRequest, obj: Any, *, version: int) -> None:
        services.role_delete(actor=actor_of(request), role_id=obj.pk, expected_version=version)


@admin.register(Skill)
class SkillAdmin(CatalogueAdmin):
    def create(self, request: HttpRequest, values: dict[str, Any]) -> Skill:
        return services.skill_create(actor=actor_of(request), key=values["key"], name=values["name"])

    def update(self, request: HttpRequest, obj: Any, *, version: int | None, changes: dict[str, Any]) -> None:
        services.skill_update(
            actor=actor_of(request), skill_id=obj.pk, expected_version=version, changes=changes
        )

    def delete(self, request: HttpRequest, obj: Any, *, version: int) -> None:
        services.skill_delete(actor=actor_of(request), skill_id=obj.pk, expected_version=version)


@admin.register(EmploymentTypeLimit)
class EmploymentTypeLimitAdmin(ServiceAdmin):
    """Set through employment_type_limit_set (one row per type, never deleted)."""

    list_display = ("employment_type", "monthly_hours_cap", "monthly_earnings_cap", "version")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        base = super().get_readonly_fields(request, obj)
        return (*base, "employment_type") if obj is not None else tuple(base)

    def create(self, request: HttpRequest, values: dict[str, Any]) -> EmploymentTypeLimit:
        return services.employment_type_limit_set(actor=actor_of(request), **values)

    def update(self, request: HttpRequest, obj: Any, *, version: int | None, changes: dict[str, Any]) -> None:
        caps = {"monthly_hours_cap": obj.monthly_hours_cap, "monthly_earnings_cap": obj.monthly_earnings_cap}
        services.employment_type_limit_set(
            actor=actor_of(request), employment_type=obj.employment_type, expected_version=version,
            **{**caps, **changes},
        )  # fmt: skip


class AbsenceInline(admin.TabularInline):
    model = Absence
    extra = 0
    can_delete = False
    fields = ("kind", "starts_on", "ends_on", "note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class EmployeeSkillInline(admin.TabularInline):
    model = EmployeeSkill
    extra = 0
    can_delete = False
    fields = ("skill", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Employee)
class EmployeeAdmin(ReadOnlyAdmin):
    list_display = ("name", "phone_number", "primary_role", "employment_type", "is_active", "version")
    list_filter = ("is_active", "employment_type", "primary_role", "is_always_needed")
    search_fields = ("name", "phone_number")
    list_select_related = ("primary_role",)
    inlines = (EmployeeSkillInline, AbsenceInline)


@admin.register(Absence)
class AbsenceAdmin(ReadOnlyAdmin):
    list_display = ("employee", "kind", "starts_on", "ends_on")
    list_filter = ("kind",)
    list_select_related = ("employee",)
