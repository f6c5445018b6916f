"""Admin pages for people. Catalogue entries are edited here; employees and absences are
shown read-only: their writes go through the services (the dispatcher UI and API)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from crewcall.people.models import Absence, Employee, EmployeeSkill, EmploymentTypeLimit, Role, Skill
from crewcall.ui.admin_base import ReadOnlyAdmin, VersionedAdmin


@admin.register(Role)
class RoleAdmin(VersionedAdmin):
    list_display = ("key", "name", "is_active", "version", "updated_at")
    search_fields = ("key", "name")
    list_filter = ("is_active",)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        # The key is what work areas refer to; the database refuses to change it.
        base = super().get_readonly_fields(request, obj)
        return (*base, "key") if obj is not None else tuple(base)


@admin.register(Skill)
class SkillAdmin(RoleAdmin):
    pass


@admin.register(EmploymentTypeLimit)
class EmploymentTypeLimitAdmin(VersionedAdmin):
    list_display = ("employment_type", "monthly_hours_cap", "monthly_earnings_cap", "version")


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
