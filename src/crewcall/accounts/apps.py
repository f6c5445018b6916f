from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "crewcall.accounts"
    label = "accounts"

    def ready(self) -> None:
        from crewcall.accounts.tokens import live_credentials_check, user_for_token
        from crewcall.core.token_auth import register_credential_check, register_token_authenticator

        # The kernel (API auth, read-only requests) and the change stream ask it for tokens;
        # the change stream asks whether what a stream was opened with still holds.
        register_token_authenticator(user_for_token)
        register_credential_check(live_credentials_check)
