from __future__ import annotations

import pghistory
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from crewcall.core.audit_chain import history_meta
from crewcall.core.models import Versioned

ROLE_RANK = {"employee": 0, "viewer": 1, "dispatcher": 2, "admin": 3}


@pghistory.track(
    model_name="UserHistory", exclude=["password", "last_login"], append_only=False, meta=history_meta()
)
class User(AbstractUser, Versioned):
    """A person who signs in: admin, dispatcher or viewer."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        DISPATCHER = "dispatcher", _("Dispatcher")
        VIEWER = "viewer", _("Viewer")
        # An employee's own account: their personal page, nothing of the agency's data.
        EMPLOYEE = "employee", _("Employee")

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)

    def has_role(self, needed: str) -> bool:
        """Roles nest: an admin may do what a dispatcher may, a dispatcher what a viewer may."""
        return self.is_active and ROLE_RANK.get(self.role, 0) >= ROLE_RANK[needed]

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["admin", "dispatcher", "viewer", "employee"]),
                name="user__role__known",
            ),
        ]


@pghistory.track(
    model_name="ApiTokenHistory",
    exclude=["last_used_at", "secret_hash"],
    append_only=False,
    meta=history_meta(),
)
class ApiToken(models.Model):
    """A secret for scripts and integrators, acting as its user.

    Only a SHA-256 of the secret is stored (tokens are 256 random bits, so a slow hash adds
    nothing); the secret is shown once, when it is made. `prefix` lets people tell their
    tokens apart. A revoked token stays, for the record, and never works again.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12)
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(db_default=models.functions.Now(), editable=False)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(name__regex=r"^\s*$"), name="accounts_apitoken__name__not_blank"
            ),
            models.CheckConstraint(
                condition=models.Q(secret_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106 (a pattern)
                name="accounts_apitoken__secret_hash__format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
