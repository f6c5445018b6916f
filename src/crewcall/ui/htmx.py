"""Full page or fragment: one decision for every view (NetBox-style).

A page is one template that `{% include %}`s its live or swappable parts, each a template
of its own whose root element has a stable id. The view renders the whole page for a
normal request and only the part for htmx, which swaps it in:

    def employee_list(request):
        context = {"employees": selectors.employee_page(...)}
        return render_page(request, "people/employee_list.html", context,
                           fragment="people/_employee_table.html")

    people/employee_list.html:
        {% extends "web/base.html" %} ... {% include "people/_employee_table.html" %}
    people/_employee_table.html:
        <div id="employee-table" hx-get="{{ request.get_full_path }}" hx-trigger="..."
             hx-select="#employee-table" hx-swap="outerHTML"> ... </div>

Rules:
- htmx asks (`request.htmx`, django-htmx's middleware) and a fragment is named: the
  fragment alone, with the same context. Keep `hx-select="#<id>"` on the element: it
  also works when the whole page comes back, so a view without a fragment still works.
- A normal request, a boosted link (`hx-boost`: htmx wants the whole page) or htmx
  restoring history after a cache miss: the full page.
- Either way the answer carries `Vary: HX-Request`, so no cache serves one for the other.

Forms follow the same path: a form posted by htmx gets its fragment back with the field
errors (status 200, or 422 with `HX-Retarget` if the caller sets it); without htmx, the
whole page with the same errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_fragment(request: HttpRequest) -> bool:
    """True when htmx asked for a part of the page (not boosted, not a history restore)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request  # type: ignore[union-attr]


def render_page(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render `fragment` for an htmx request, `template` otherwise (see the module's
    docstring); `status` for either (e.g. 422 for a form with errors)."""
    name = fragment if fragment is not None and wants_fragment(request) else template
    response = render(request, name, dict(context or {}), status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response
