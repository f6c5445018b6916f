"""The settings of the test run: the product's settings, with a fast password hasher.

A user made with the default hasher costs most of a second (its work factor is the point);
tests make many users, so they hash with MD5 first. pytest-django puts this module in
DJANGO_SETTINGS_MODULE, so every `crewcall` process a test starts (web, serve, worker)
inherits it and accepts the passwords the test process hashed. Production never names
this module: `crewcall` and the ASGI application default to `crewcall.settings`.
"""

from django.conf import global_settings

from crewcall.settings import *  # noqa: F403 - these settings, with the changes below

# MD5 first (hashes new passwords); Django's default list after it (checks any other hash).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *global_settings.PASSWORD_HASHERS]
