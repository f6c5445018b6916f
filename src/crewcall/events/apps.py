from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "crewcall.events"
    label = "events"
