from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from crewcall.accounts.models import ApiToken, User
from crewcall.ui.admin_base import ReadOnlyAdmin


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Crewcall", {"fields": ("role",)}))  # type: ignore[misc]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are made and revoked through the API or `crewcall token`; never their hash here."""

    list_display = ("name", "prefix", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    exclude = ("secret_hash",)
