"""Forms of the user and token pages; their clean values go to accounts.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crewcall.accounts.models import User

ROLE_CHOICES = User.Role.choices


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial=User.Role.VIEWER)
    email = forms.CharField(label=_("Email"), max_length=254, required=False,
                            widget=forms.EmailInput(attrs={"autocomplete": "off"}))  # fmt: skip


class UserEditForm(forms.Form):
    """Role, state and email; `version` is what the page showed (checked by the service)."""

    CHANGED = ("role", "is_active", "email")  # what `changes()` hands the service

    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
    is_active = forms.BooleanField(label=_("Active (may sign in and use tokens)"), required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False, widget=forms.EmailInput)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    @staticmethod
    def initial_from(user: User) -> dict[str, Any]:
        return {"role": user.role, "is_active": user.is_active, "email": user.email, "version": user.version}

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.CHANGED}


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=80,
                           help_text=_("What the token is for, e.g. “payroll export”."))  # fmt: skip


class PasswordSetForm(forms.Form):
    """An admin sets an account's password (accounts.services.user_set_password checks the
    password rules): typed twice, never shown."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    password = forms.CharField(
        label=_("New password"), strip=False, max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )  # fmt: skip
    again = forms.CharField(
        label=_("The same again"), strip=False, max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("again") and data["password"] != data["again"]:
            self.add_error("again", _("The two passwords differ."))
        return data
