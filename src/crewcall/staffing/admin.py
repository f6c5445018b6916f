"""Admin pages for invitations, assignments and the work log (read-only: writes go through
staffing.services)."""

from __future__ import annotations

from django.contrib import admin

from crewcall.staffing.models import Assignment, Invitation, WorkLog
from crewcall.ui.admin_base import ReadOnlyAdmin


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("employee", "event", "status", "wave", "asked_at", "responded_at", "version")
    list_filter = ("status", "response_method")
    list_select_related = ("employee", "event")
    search_fields = ("employee__name", "event__title")


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ("employee", "event", "work_area", "role", "version")
    list_select_related = ("employee", "event", "work_area", "role")


@admin.register(WorkLog)
class WorkLogAdmin(ReadOnlyAdmin):
    list_display = ("employee", "event", "started_at", "ended_at", "break_minutes", "hours", "approved_by")
    list_select_related = ("employee", "event", "approved_by")
