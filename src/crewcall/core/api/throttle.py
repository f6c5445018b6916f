"""Rate limits: a token bucket per caller, in the web process's memory.

A bucket holds `burst` requests and refills at `per_minute`; each request takes one.
O(1) per request, no database round-trip (a shared counter row would serialise every
request of one caller). The limit is per web process: N processes allow up to N times
the rate, which docs/api.md states.
"""

from __future__ import annotations

import threading
import time

from django.http import HttpRequest
from ninja.throttling import BaseThrottle


class TokenBucket:
    def __init__(self, *, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds until a request would be."""
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > 100_000:  # forget idle callers (refilled buckets)
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key, (_, then) in list(self._buckets.items()):
            if now - then > full_after:
                del self._buckets[key]

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "?"))


class CallerThrottle(BaseThrottle):
    """One bucket per signed-in user (or per address for anonymous calls)."""

    def __init__(self, bucket: TokenBucket) -> None:
        self.bucket = bucket
        self._local = threading.local()  # ninja asks wait() right after allow_request()

    def allow_request(self, request: HttpRequest) -> bool:
        user = getattr(request, "auth", None)
        key = f"user:{user.pk}" if user is not None else f"ip:{client_ip(request)}"
        self._local.wait = self.bucket.take(key)
        return self._local.wait == 0.0

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)
