from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "crewcall.core"
    label = "core"

    def ready(self) -> None:
        from crewcall.core import checks  # noqa: F401  (registers system checks)
