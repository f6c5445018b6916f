from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from crewcall.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Crewcall", {"fields": ("role",)}))  # type: ignore[misc]
