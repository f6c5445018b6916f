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


@register()
def check_two_database_roles(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return one_database_role(settings.DATABASES["default"])


def one_database_role(database: dict[str, Any]) -> list[CheckMessage]:
    if database["ENGINE"] == "django.db.backends.postgresql" and not database.get("CREWCALL_OWNER"):
        return [
            Warning(
                "DATABASE_URL's user both runs migrations and serves the application: nothing keeps "
                "the application from rewriting history.",
                hint="Make an owner and a runtime role with `crewcall roles`, point DATABASE_URL at the "
                "runtime role and CREWCALL_MIGRATION_DATABASE_URL at the owner (docs/operations.md).",
                id="crewcall.W002",
            )
        ]
    return []
