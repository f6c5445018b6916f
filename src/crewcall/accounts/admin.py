"""Admin pages for accounts, read-only: users are created and changed on the users page
(`/users/`, accounts.services, with the version read), tokens through the API or
`crewcall token`.

One write stays: an admin sets a user's password here (Django's password form). It
replaces no value the admin read, so there is no version to check; the history leaves
passwords out by design.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from crewcall.accounts.models import ApiToken, User
from crewcall.ui.admin_base import ReadOnlyAdmin

SET_PASSWORD_URL_NAME = "auth_user_password_change"  # noqa: S105 - a URL name (Django names it so for any user model)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Crewcall", {"fields": ("role",)}))  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        match = request.resolver_match
        on_password_form = match is not None and match.url_name == SET_PASSWORD_URL_NAME
        return on_password_form and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are made and revoked through the API or `crewcall token`; never their hash here."""

    list_display = ("name", "prefix", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    exclude = ("secret_hash",)
