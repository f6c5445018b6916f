"""User and API token management for admins (`/users/`): list and create users, change a
user's role, state and email (with the version read), list, create and revoke tokens.
Every write goes through accounts.services; its errors show beside the fields."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crewcall.accounts import selectors, services
from crewcall.accounts.forms import PasswordSetForm, TokenCreateForm, UserCreateForm, UserEditForm
from crewcall.accounts.models import User
from crewcall.accounts.requests import SignedInRequest
from crewcall.core.api.pagination import Sort, keyset_page
from crewcall.core.api.problems import ApiProblem
from crewcall.ui import conflicts
from crewcall.ui.access import admin_only
from crewcall.ui.htmx import render_page
from crewcall.ui.writes import run_write

PAGE_SIZE = 50
TOKENS_SHOWN = 100
BY_USERNAME = Sort(field="username", descending=False)


def _user_or_404(user_id: int) -> User:
    user = selectors.user_detail(user_id=user_id)
    if user is None:
        raise Http404(_("There is no such user."))
    return user


def _list(request: HttpRequest, form: UserCreateForm) -> HttpResponse:
    after = request.GET.get("after") or None
    qs = selectors.user_filter().annotate(
        live_tokens=Count("api_tokens", filter=Q(api_tokens__revoked_at__isnull=True))
    )
    try:
        users, cursor = keyset_page(qs, sort=BY_USERNAME, after=after, limit=PAGE_SIZE)
    except ApiProblem:
        users, cursor = keyset_page(qs, sort=BY_USERNAME, after=None, limit=PAGE_SIZE)
    context = {"users": users, "more": cursor, "paged": bool(after), "form": form}
    return render_page(request, "accounts/users.html", context)


@admin_only
def user_list(request: HttpRequest) -> HttpResponse:
    return _list(request, UserCreateForm())


@admin_only
@require_POST
def user_create(request: SignedInRequest) -> HttpResponse:
    form = UserCreateForm(request.POST)
    if form.is_valid():
        written = run_write(
            request, lambda: services.user_create(actor=request.user, **form.cleaned_data), form=form
        )
        if written.ok:
            user = written.value
            messages.success(request, _("%(name)s was added. Without a password they sign in with a token or "
                                        "after an admin sets one.") % {"name": user.username})  # fmt: skip
            return redirect("accounts:detail", user_id=user.pk)
    return _list(request, form)


def _detail(request: HttpRequest, user: User, **extra: Any) -> HttpResponse:
    tokens = list(selectors.token_filter(user_id=user.pk).order_by("-created_at", "-id")[:TOKENS_SHOWN])
    context = {
        "account": user,
        "form": UserEditForm(initial=UserEditForm.initial_from(user)),
        "token_form": TokenCreateForm(),
        "password_form": PasswordSetForm(initial={"version": user.version}),
        "tokens": tokens,
        "tokens_capped": len(tokens) >= TOKENS_SHOWN,
        "is_self": user.pk == request.user.pk,
        **extra,
    }
    return render_page(request, "accounts/user_detail.html", context)


@admin_only
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    return _detail(request, _user_or_404(user_id))


@admin_only
@require_POST
def user_edit(request: SignedInRequest, user_id: int) -> HttpResponse:
    user = _user_or_404(user_id)
    # A post of the conflict view (keep mine, merged) becomes the form's data here.
    form = UserEditForm(
        conflicts.resolve(request.POST, UserEditForm), initial=UserEditForm.initial_from(user)
    )
    if form.is_valid():
        written = run_write(
            request,
            lambda: services.user_update(
                actor=request.user,
                user_id=user.pk,
                expected_version=form.cleaned_data["version"],
                changes=form.changes(),
            ),
            form=form,
            conflict=lambda: _conflict(request, user.pk, form),
        )
        if written.answer is not None:
            return written.answer
        if written.ok:
            messages.success(request, _("The account was saved."))
            return redirect("accounts:detail", user_id=user.pk)
    return _detail(request, user, form=form)


@admin_only
@require_POST
def user_password(request: SignedInRequest, user_id: int) -> HttpResponse:
    user = _user_or_404(user_id)
    form = PasswordSetForm(request.POST)
    if form.is_valid():
        written = run_write(
            request,
            lambda: services.user_set_password(
                actor=request.user,
                user_id=user.pk,
                expected_version=form.cleaned_data["version"],
                password=form.cleaned_data["password"],
            ),
            form=form,
            conflict=_("The account was changed meanwhile; set the password again."),
        )
        if written.answer is not None:
            return written.answer
        if written.ok:
            messages.success(request, _("%(name)s has a new password.") % {"name": user.username})
            return redirect("accounts:detail", user_id=user.pk)
    return _detail(request, user, password_form=form)


def _conflict(request: HttpRequest, user_id: int, yours: UserEditForm) -> HttpResponse:
    """Someone saved this account after the admin read it: both side by side, nothing written."""
    current = _user_or_404(user_id)
    found = conflicts.conflict(
        yours=yours,
        theirs=UserEditForm.initial_from(current),
        version=current.version,
        action=reverse("accounts:edit", args=[current.pk]),
        theirs_url=reverse("accounts:detail", args=[current.pk]),
    )
    return render_page(request, "accounts/user_conflict.html", {"account": current, "conflict": found})


@admin_only
@require_POST
def token_create(request: SignedInRequest, user_id: int) -> HttpResponse:
    user = _user_or_404(user_id)
    form = TokenCreateForm(request.POST)
    if form.is_valid():
        written = run_write(
            request,
            lambda: services.token_create(
                actor=request.user, user_id=user.pk, name=form.cleaned_data["name"]
            ),
            form=form,
        )
        if written.ok:
            made = written.value
            # The secret exists only in this answer: shown once, never cached, never stored.
            response = _detail(request, user, new_token=made.token, new_secret=made.secret)
            add_never_cache_headers(response)
            return response
    return _detail(request, user, token_form=form)


@admin_only
@require_POST
def token_revoke(request: SignedInRequest, user_id: int, token_id: int) -> HttpResponse:
    token = selectors.token_detail(token_id=token_id)
    if token is None or token.user_id != user_id:
        raise Http404(_("There is no such token."))
    services.token_revoke(actor=request.user, token_id=token.pk)
    messages.success(
        request, _("The token “%(name)s” was revoked; it never works again.") % {"name": token.name}
    )
    return redirect("accounts:detail", user_id=user_id)
