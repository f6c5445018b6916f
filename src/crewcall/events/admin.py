"""Admin pages for events (read-only: writes go through events.services)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from crewcall.events.models import Event, WorkArea, WorkAreaSkill
from crewcall.ui.admin_base import ReadOnlyAdmin


class WorkAreaInline(admin.TabularInline):
    model = WorkArea
    extra = 0
    can_delete = False
    fields = ("name", "max_capacity", "role_requirements", "priority", "is_active")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "event_date",
        "start_time",
        "status",
        "is_template",
        "employees_needed",
        "version",
    )
    list_filter = ("status", "is_template")
    search_fields = ("title", "location")
    date_hierarchy = "event_date"
    inlines = (WorkAreaInline,)


class WorkAreaSkillInline(admin.TabularInline):
    model = WorkAreaSkill
    extra = 0
    can_delete = False
    fields = ("skill", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WorkArea)
class WorkAreaAdmin(ReadOnlyAdmin):
    inlines = (WorkAreaSkillInline,)
    list_display = ("name", "event", "max_capacity", "priority", "is_active", "version")
    list_select_related = ("event",)
    search_fields = ("name", "event__title")
