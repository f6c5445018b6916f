"""The ceiling for bench/api.py: Crewcall's own settings (same database, same pool) with
no middleware and three plain views, served by gunicorn's sync workers."""

from crewcall.settings import *  # noqa: F403

MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bare.urls"
