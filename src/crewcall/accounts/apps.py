from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "crewcall.accounts"
    label = "accounts"
