from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "crewcall.people"
    label = "people"
