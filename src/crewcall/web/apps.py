from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "crewcall.web"
    label = "web"
