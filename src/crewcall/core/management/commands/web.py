"""`crewcall web`: the ASGI web server (uvicorn) in this process.

SIGTERM and SIGINT stop it gracefully: open requests may finish (up to a bound), then
the process closes its database connections and leaves the embedded server.
"""

from __future__ import annotations

import signal
from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandParser

from crewcall.core.lifecycle import release_database

# Long-lived responses (event streams) must not hold a shutdown up forever.
GRACEFUL_SHUTDOWN_S = 10


class Command(BaseCommand):
    help = "Run the web server (uvicorn, ASGI)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        config = uvicorn.Config(
            "crewcall.asgi:application",
            host=host,
            port=port,
            lifespan="off",  # Django has no ASGI lifespan support
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        server = uvicorn.Server(config)
        # uvicorn installs its own handlers while serving and, on the way out, restores the
        # previous ones and re-raises the signal it caught. Making its own handler the
        # previous one turns that re-raise into a no-op (the default would kill us before
        # we detach) and also catches a signal that arrives before it starts listening.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, server.handle_exit)
        try:
            server.run()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
            release_database()
