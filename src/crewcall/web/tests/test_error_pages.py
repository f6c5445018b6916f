"""The error pages: 403, 404 and 500 in the site's style, in the reader's language, with
a way back; a refusal is logged as one warning line, without a traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client, RequestFactory

from crewcall.ui.errors import server_error

GERMAN = {"Accept-Language": "de"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "heading", "way_back"),
    [({}, "Page not found", "Go to the start page"), (GERMAN, "Seite nicht gefunden", "Zur Startseite")],
)
def test_a_missing_page_says_so_in_the_readers_language_with_a_way_back(
    client: Client, bob: Any, language: dict[str, str], heading: str, way_back: str
) -> None:
    client.force_login(bob)
    page = client.get("/events/999999/", headers=language)
    html = page.content.decode()
    assert page.status_code == 404 and 'data-error-page="404"' in html
    assert f"<h1>{heading}</h1>" in html and "crewcall/app.css" in html
    assert f'<a href="/">{way_back}</a>' in html


@pytest.mark.django_db
def test_a_refusal_is_a_styled_page_and_one_log_line_without_a_traceback(
    client: Client, oscar: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client.force_login(oscar)  # an employee's own account: no business in the agency's pages
    with caplog.at_level(logging.WARNING, logger="django.request"):
        page = client.get("/employees/", headers=GERMAN)
    html = page.content.decode()
    assert page.status_code == 403 and 'data-error-page="403"' in html
    assert "<h1>Nicht erlaubt</h1>" in html and "Zur Startseite" in html
    refusals = [
        r for r in caplog.records if r.name == "django.request" and getattr(r, "status_code", 0) == 403
    ]
    assert len(refusals) == 1 and refusals[0].exc_info is None and refusals[0].exc_text is None


@pytest.mark.django_db
def test_control_without_the_filter_django_logs_the_refusals_traceback(
    client: Client, oscar: Any, caplog: pytest.LogCaptureFixture
) -> None:
    request_logger = logging.getLogger("django.request")
    kept = list(request_logger.filters)
    request_logger.filters.clear()
    try:
        client.force_login(oscar)
        with caplog.at_level(logging.WARNING, logger="django.request"):
            client.get("/employees/")
    finally:
        request_logger.filters[:] = kept
    refusals = [
        r for r in caplog.records if r.name == "django.request" and getattr(r, "status_code", 0) == 403
    ]
    assert len(refusals) == 1 and refusals[0].exc_info is not None


def test_an_unexpected_error_is_a_styled_page_without_the_database() -> None:
    # No django_db mark: a query would raise.
    for language, heading in (("en", "Something went wrong"), ("de", "Etwas ist schiefgelaufen")):
        request = RequestFactory().get("/events/", headers={"Accept-Language": language})
        try:
            raise KeyError("a bug")
        except KeyError:
            page = server_error(request)
        html = page.content.decode()
        assert page.status_code == 500 and 'data-error-page="500"' in html
        assert f"<h1>{heading}</h1>" in html and "crewcall/app.css" in html and '<a href="/">' in html
