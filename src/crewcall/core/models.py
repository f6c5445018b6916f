"""Shared model parts. Tables live in the domain apps; this app owns cross-cutting SQL."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class Versioned(models.Model):
    """created_at, updated_at and version, all kept by the database (trigger
    `crewcall_row_version`): whatever the code sends, an insert starts at version 1 and
    every update adds one, so no code path can forget or fake it."""

    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)
    version = models.PositiveIntegerField(db_default=1, editable=False)

    class Meta:
        abstract = True

    def refresh_version(self) -> None:
        self.refresh_from_db(fields=["version", "updated_at", "created_at"])
