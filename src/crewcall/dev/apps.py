from django.apps import AppConfig


class DevConfig(AppConfig):
    name = "crewcall.dev"
    label = "dev"
