"""Leaving the database cleanly when a long-running process ends.

Every process that connects to the embedded PostgreSQL becomes one of its users (see
crewcall.core.embedded). A process that ends on purpose closes its connections and
detaches, so the last one to leave stops the server instead of leaving it orphaned.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import connections

from crewcall.core.embedded import embedded_for

logger = logging.getLogger(__name__)

EMBEDDED_ENGINE = "crewcall.core.db"


def uses_embedded_database() -> bool:
    return bool(settings.DATABASES["default"]["ENGINE"] == EMBEDDED_ENGINE)


def release_database() -> None:
    """Close this thread's connections and detach from the embedded server, if any.

    Detaching stops the server when no other live process uses it. Safe to call twice.
    """
    try:
        connections.close_all()
        for connection in connections.all(initialized_only=True):
            # A pool's idle connections too. Only a pool that exists: asking for one
            # creates it, and with it would attach to the database we are leaving.
            if connection.alias in getattr(connection, "_connection_pools", {}):
                connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL backend's
    except Exception:  # a broken connection must not keep the server from stopping
        logger.warning("closing database connections failed", exc_info=True)
    if uses_embedded_database():
        embedded_for(Path(settings.DATA_DIR)).detach()
