from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "crewcall.messaging"
    label = "messaging"
