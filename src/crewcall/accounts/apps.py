from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "crewcall.accounts"
    label = "accounts"

    def ready(self) -> None:
        from crewcall.accounts.tokens import user_for_token
        from crewcall.core.token_auth import register_token_authenticator

        # The kernel (API auth, read-only requests) and the change stream ask it for tokens.
        register_token_authenticator(user_for_token)
