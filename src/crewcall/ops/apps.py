from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Keeping the data trustworthy: integrity checks and repair, backup and restore,
    health, metrics, KPIs and the canary audit (DESIGN.md §2, §5 guarantee 8, §7)."""

    name = "crewcall.ops"
    label = "ops"
