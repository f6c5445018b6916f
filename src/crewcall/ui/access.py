"""Who may see and change the dispatcher's pages: viewers read, dispatchers (and admins) edit."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]
SAFE_METHODS = ("GET", "HEAD")


def can_edit(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.has_role("dispatcher"))


def _guard(needed: str, *, reads_open: bool) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.has_role("viewer"):
                raise PermissionDenied
            if not (reads_open and request.method in SAFE_METHODS) and not user.has_role(needed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


# Pages everyone at the agency may read; their POSTs need a dispatcher.
reader = _guard("dispatcher", reads_open=True)
# Pages that exist only to change something (forms, confirmations).
editor = _guard("dispatcher", reads_open=False)
# Pages for admins only, reading included (users and tokens, operations).
admin_only = _guard("admin", reads_open=False)
