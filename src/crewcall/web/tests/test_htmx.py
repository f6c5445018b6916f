"""render_page: the whole page, or only the fragment when htmx asks for one."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django_htmx.middleware import HtmxMiddleware

from crewcall.accounts.models import User
from crewcall.ui.htmx import render_page

HTMX = {"HX-Request": "true"}


def rendered(headers: dict[str, str]) -> tuple[str, str]:
    request = RequestFactory().get("/", headers=headers)
    request.user = User(username="x")
    HtmxMiddleware(lambda r: None)(request)  # type: ignore[arg-type]
    response = render_page(
        request, "web/dashboard.html", {"upcoming_days": 14}, fragment="web/_dashboard_live.html"
    )
    return response.content.decode(), response["Vary"]


def test_a_plain_request_gets_the_whole_page() -> None:
    body, vary = rendered({})
    assert body.startswith("<!doctype html>") and 'id="dashboard-live"' in body
    assert "HX-Request" in vary


def test_htmx_gets_the_fragment_alone() -> None:
    body, vary = rendered(HTMX)
    assert body.lstrip().startswith('<div id="dashboard-live"') and "<html" not in body
    assert "HX-Request" in vary


@pytest.mark.parametrize("extra", [{"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}])
def test_boosted_links_and_history_restores_get_the_whole_page(extra: dict[str, str]) -> None:
    body, _ = rendered({**HTMX, **extra})
    assert body.startswith("<!doctype html>")


def test_without_a_fragment_htmx_gets_the_whole_page() -> None:
    request = RequestFactory().get("/", headers=HTMX)
    request.user = User(username="x")
    HtmxMiddleware(lambda r: None)(request)  # type: ignore[arg-type]
    body = render_page(request, "web/dashboard.html", {}, status=422)
    assert body.status_code == 422 and body.content.decode().startswith("<!doctype html>")


@pytest.mark.django_db
def test_the_dashboard_refresh_is_the_fragment_without_a_cursor(
    client: Client, bob: User, agency, django_assert_num_queries
) -> None:
    agency.event("Gala")
    client.force_login(bob)
    full = client.get("/").content.decode()
    assert "data-live-since=" in full and "<html" in full
    with django_assert_num_queries(7):  # session, user, three for the summary, two for the charts
        fragment = client.get("/", headers=HTMX).content.decode()
    assert fragment.lstrip().startswith('<div id="dashboard-live"') and "Gala" in fragment
    assert "data-live-since" not in fragment
