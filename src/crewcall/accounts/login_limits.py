"""A rate limit on sign-in attempts per client address and per user name (django-axes
locks a user name out after repeated failures; this slows down anyone trying many
accounts from one place, or one account from many places)."""

from __future__ import annotations

import math
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from crewcall.core.api.throttle import TokenBucket, client_ip

LOGIN_PATHS = ("/admin/login/", "/login/")
bucket = TokenBucket(per_minute=settings.LOGIN_RATE_PER_MINUTE, burst=settings.LOGIN_RATE_PER_MINUTE)


def _wait(request: HttpRequest) -> float:
    """Both buckets are drawn from, so a refused attempt counts against both."""
    by_address = bucket.take(f"ip:{client_ip(request)}")
    username = str(request.POST.get("username", ""))[:150].strip().lower()
    by_name = bucket.take(f"user:{username}") if username else 0.0
    return max(by_address, by_name)


class LoginRateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in LOGIN_PATHS:
            wait = _wait(request)
            if wait:
                seconds = max(1, math.ceil(wait))
                response = HttpResponse(
                    f"Too many sign-in attempts from your address or for this user name; "
                    f"try again in {seconds} s.\n",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(seconds)
                return response
        return self.get_response(request)
