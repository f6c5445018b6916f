"""`crewcall web`: the ASGI web server (uvicorn) in this process, or in several.

SIGTERM and SIGINT stop it gracefully: open requests may finish (up to a bound), then
the process closes its database connections and leaves the embedded server. With
`--workers N` (N > 1) this process supervises N server processes sharing one listening
socket (uvicorn's own supervisor restarts one that dies) and stays attached to the
embedded server for as long as it runs, so the last one out still stops it.

`crewcall serve` starts its web processes with `--fd N`: each serves a listening socket
that serve opened and keeps open (so a process that dies closes nothing), and leaves the
metrics folder to serve.
"""

from __future__ import annotations

import argparse
import signal
import socket
from pathlib import Path
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from uvicorn.supervisors import Multiprocess

from crewcall.core.embedded import embedded_for
from crewcall.core.lifecycle import release_database, uses_embedded_database
from crewcall.ops.metrics import clean_metrics_dir

# Long-lived responses (event streams) must not hold a shutdown up forever.
GRACEFUL_SHUTDOWN_S = 10


class Command(BaseCommand):
    help = "Run the web server (uvicorn, ASGI)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=settings.WEB_PROCESSES, help="server processes (default 1)"
        )
        # A listening socket inherited from `crewcall serve` (internal).
        parser.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)

    def handle(self, *args: Any, host: str, port: int, workers: int, fd: int | None, **options: Any) -> None:
        if fd is None:
            # Figures of processes that no longer run leave /metrics (a separate worker's stay).
            clean_metrics_dir()
        config = uvicorn.Config(
            "crewcall.asgi:application",
            host=host,
            port=port,
            lifespan="off",  # Django has no ASGI lifespan support
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: a
            # client on this machine could then pose as any address. Only the proxies
            # named in CREWCALL_TRUSTED_PROXIES are believed.
            proxy_headers=bool(settings.TRUSTED_PROXIES),
            # Its access and error lines go through Django's logging (settings.LOGGING):
            # JSON in JSON mode, redacted always.
            log_config=None,
            forwarded_allow_ips=list(settings.TRUSTED_PROXIES),
            workers=1 if fd is not None else max(1, workers),
        )
        if config.workers > 1:
            self._supervise(config)
            return
        # Family and type are read from the descriptor itself.
        sockets = [socket.socket(fileno=fd)] if fd is not None else None
        server = uvicorn.Server(config)
        # uvicorn installs its own handlers while serving and, on the way out, restores the
        # previous ones and re-raises the signal it caught. Making its own handler the
        # previous one turns that re-raise into a no-op (the default would kill us before
        # we detach) and also catches a signal that arrives before it starts listening.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, server.handle_exit)
        try:
            server.run(sockets=sockets)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
            release_database()

    def _supervise(self, config: uvicorn.Config) -> None:
        if uses_embedded_database():
            embedded_for(Path(settings.DATA_DIR)).attach()  # a user for as long as we supervise
        try:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        finally:
            release_database()
