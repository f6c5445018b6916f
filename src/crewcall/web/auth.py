"""Signing in and out of the web app (`/login/`, `/logout/`).

Django's own views with Crewcall's pages. Protection comes from elsewhere and covers
these views as much as the admin's sign-in: django-axes locks an account after repeated
failures (its answer is `locked_out`, settings.AXES_LOCKOUT_CALLABLE: a readable page), and
accounts/login_limits.py answers 429 to an address that tries too fast.
"""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_cool_off, get_failure_limit
from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The username or password is not right. Both are case-sensitive."),
        "inactive": _("This account is switched off. Ask an admin of your agency."),
    }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["username"].label = _("Username")
        self.fields["password"].label = _("Password")
        username: forms.Field = self.fields["username"]
        username.widget.attrs.update({"autocomplete": "username", "autocapitalize": "none"})


class SignInView(auth_views.LoginView):
    template_name = "web/login.html"
    form_class = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """POST only (Django refuses GET with 405): a link cannot sign anyone out."""


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a sign-in while the account is locked: a page saying so and
    for how long (429, with Retry-After), on /login/ and /admin/login/ alike."""
    cool_off = get_cool_off(request)
    seconds = math.ceil(cool_off.total_seconds()) if cool_off else 0
    minutes = max(1, math.ceil(seconds / 60))
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "wait": ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes} if seconds else "",
    }
    status = getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429)
    response = render(request, "web/locked_out.html", context, status=status)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
