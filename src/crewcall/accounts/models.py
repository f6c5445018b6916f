from __future__ import annotations

import pghistory
from django.contrib.auth.models import AbstractUser
from django.db import models


@pghistory.track(model_name="UserHistory", exclude=["password", "last_login"])
class User(AbstractUser):
    """A person who signs in: admin, dispatcher or viewer."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        DISPATCHER = "dispatcher", "Dispatcher"
        VIEWER = "viewer", "Viewer"

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["admin", "dispatcher", "viewer"]),
                name="user__role__known",
            ),
        ]
