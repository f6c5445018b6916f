from django.apps import AppConfig


class UiConfig(AppConfig):
    name = "crewcall.ui"
    label = "ui"
