"""A standing clock for the rate limits' token buckets (core/api/throttle.py); the
`frozen_buckets` fixture (conftest.py) puts it in their place."""

from __future__ import annotations


class FrozenClock:
    """The buckets' clock, standing still unless moved: no refill between requests."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now
