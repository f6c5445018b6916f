"""System checks with stable ids (crewcall.E001 …)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register()
def check_database_is_postgresql(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine not in ("django.db.backends.postgresql", "crewcall.core.db"):
        return [
            Error(
                f"Crewcall runs on PostgreSQL only, not {engine}.",
                hint="Unset DATABASE_URL for the embedded server, or point it at PostgreSQL ≥ 15.",
                id="crewcall.E001",
            )
        ]
    return []


@register(deploy=True)
def check_public_url_is_https(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.PUBLIC_URL.startswith("https://"):
        return [
            Warning(
                "CREWCALL_PUBLIC_URL is not https: webhooks and personal links travel in clear.",
                id="crewcall.W001",
            )
        ]
    return []
