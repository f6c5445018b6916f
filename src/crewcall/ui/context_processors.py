"""What every page's template can use (settings.TEMPLATES' context processors)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def page(request: HttpRequest) -> dict[str, Any]:
    """`csp_nonce`: the request's Content-Security-Policy nonce, lazy (django-csp only adds a
    nonce to the header when a page used one). django-htmx's `{% htmx_script %}` reads this
    name; any other inline `<script>`/`<style>` writes `nonce="{{ csp_nonce }}"`.

    `nav`: which links of the header the user may follow (the views check again); lazy,
    so a page that shows no header (the API docs) does not look the user up for it."""
    return {
        "csp_nonce": getattr(request, "csp_nonce", None),
        "nav": SimpleLazyObject(lambda: _nav(request)),
    }


def _nav(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated and user.is_active)
    staff = signed_in and bool(getattr(user, "is_staff", False))
    return {
        # The first part of the path ("" for the dashboard, "employees", "events" …).
        "section": request.path_info.strip("/").split("/", 1)[0],
        "signed_in": signed_in,
        # The messages log and the inbox: the agency's staff, not an employee's own account.
        "messages": signed_in and user.has_role("viewer"),  # type: ignore[union-attr]
        "simulator": signed_in
        and user.has_role("viewer")  # type: ignore[union-attr]
        and settings.MESSAGING_PROVIDER == "simulator",
        "admin": signed_in and user.has_role("admin"),  # type: ignore[union-attr]
        # Django's admin site wants is_staff as well.
        "admin_site": staff and user.has_role("admin"),  # type: ignore[union-attr]
    }
