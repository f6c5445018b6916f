"""Running queued jobs in a test, as the worker would, without starting one."""

from __future__ import annotations

from collections.abc import Sequence

from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector


def run_jobs(queues: Sequence[str] = ("messages",)) -> None:
    """Run every job of `queues` that is due now, in this thread, then return."""
    connector = app.connector
    assert isinstance(connector, DjangoConnector)  # the web-side connector, as configured
    with app.replace_connector(connector.get_worker_connector()) as worker_app:
        worker_app.run_worker(
            queues=list(queues), wait=False, install_signal_handlers=False, listen_notify=False
        )
