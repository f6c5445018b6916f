"""A rate limit on sign-in attempts per client address (django-axes locks out an account
after repeated failures; this slows down anyone trying many accounts from one place)."""

from __future__ import annotations

import math
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from crewcall.core.api.throttle import TokenBucket, client_ip

LOGIN_PATHS = ("/admin/login/", "/login/")
bucket = TokenBucket(per_minute=settings.LOGIN_RATE_PER_MINUTE, burst=settings.LOGIN_RATE_PER_MINUTE)


class LoginRateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in LOGIN_PATHS:
            wait = bucket.take(client_ip(request))
            if wait:
                seconds = max(1, math.ceil(wait))
                response = HttpResponse(
                    f"Too many sign-in attempts from your address; try again in {seconds} s.\n",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(seconds)
                return response
        return self.get_response(request)
