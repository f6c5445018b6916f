"""Base classes for the admin pages of domain models.

A versioned model (core.versioning) is never saved by the admin itself: its admin is
either read-only (`ReadOnlyAdmin`) or writes through the model's services
(`ServiceAdmin`), so the version check, the rules and the history row are the same as
from every other entry point.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import csrf_protect_m
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from crewcall.core.errors import CrewcallError, ValidationFailed

READ_VERSION = "read_version"


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


class VersionReadForm(forms.ModelForm):
    """The admin's form plus the version it was read at, posted back hidden."""

    read_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields[READ_VERSION].initial = self.instance.version


class ServiceAdmin(VersionedAdmin):
    """Writes through the model's services: a new row goes to `create` with the form's
    values, a change to `update` with the fields changed and the version the form was
    read at, a deletion to `delete` with the version the confirming post found. The
    service's transaction is the only one (the admin's own is left out: services refuse
    to run inside another). A refusal (a stale version, a rule) writes nothing and comes
    back as a message above the page, which shows the row as stored."""

    form = VersionReadForm
    actions = ()  # no bulk delete: it would bypass `delete`

    def create(self, request: HttpRequest, values: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def update(self, request: HttpRequest, obj: Any, *, version: int | None, changes: dict[str, Any]) -> None:
        raise NotImplementedError

    def delete(self, request: HttpRequest, obj: Any, *, version: int) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        values = {name: value for name, value in form.cleaned_data.items() if name != READ_VERSION}
        if change:
            changes = {name: values[name] for name in form.changed_data if name in values}
            self.update(request, obj, version=form.cleaned_data.get(READ_VERSION), changes=changes)
        else:
            obj.pk = self.create(request, values).pk  # the admin's log and redirect name it

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        """Nothing beyond what the service wrote."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete(request, obj, version=obj.version)
        super().log_deletions(request, cast("QuerySet[Any]", [obj]))

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[Any]) -> list[LogEntry]:
        """Logged by `delete_model` once the service deleted (the admin logs before)."""
        return []

    @csrf_protect_m
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return self._refusals_shown(
            request,
            lambda: self._changeform_view(  # type: ignore[attr-defined]  # Django's, without its transaction
                request, object_id, form_url, extra_context
            ),
        )

    @csrf_protect_m
    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return self._refusals_shown(
            request,
            lambda: self._delete_view(  # type: ignore[attr-defined]  # Django's, without its transaction
                request, object_id, extra_context
            ),
        )

    def _refusals_shown(self, request: HttpRequest, view: Any) -> HttpResponse:
        try:
            response: HttpResponse = view()
        except CrewcallError as error:
            texts = (
                [text for texts in error.errors.values() for text in texts]
                if isinstance(error, ValidationFailed)
                else [error.message]
            )
            for text in texts:
                messages.error(request, text)
            return HttpResponseRedirect(request.get_full_path())
        return response
