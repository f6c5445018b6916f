from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Keeping the data trustworthy: integrity checks and repair, backup and restore,
    health, metrics, KPIs and the canary audit (docs/operations.md, docs/integrity.md)."""

    name = "crewcall.ops"
    label = "ops"
