"""Base classes for the admin pages of domain models."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest


class VersionedAdmin(admin.ModelAdmin):
    """Shows the database-kept version and timestamps, never editable."""

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return ("version", "created_at", "updated_at")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and search only: writes to this model go through its services, where the
    version check, retries and the business rules live."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
