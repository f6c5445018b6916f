from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "crewcall.changes"
    label = "changes"
