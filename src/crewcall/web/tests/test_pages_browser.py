"""The layout's manners in a real browser (Debian's Chromium): no console errors and no
Content-Security-Policy violations on the main pages and the API docs, sign-in with the
keyboard alone, a 375 px wide phone without sideways scrolling.

These pages run on pytest-django's live server (WSGI, threads). The change stream is an
async endless response that only an ASGI server serves properly (test_live_browser.py
runs it under uvicorn); here the browser gets a short stand-in stream, so live.js starts
as usual without holding a server thread forever.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from crewcall.testing.browser import PHONE, Watched, browser, sign_in_as, stand_in_stream  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:  # noqa: F811
    created = browser.new_context()
    created.route("**/api/v1/changes*", stand_in_stream)
    yield created
    created.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:  # noqa: F811
    created = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    created.route("**/api/v1/changes*", stand_in_stream)
    yield created
    created.close()


def test_the_main_pages_have_no_console_errors_or_csp_violations(live_server, context, alice, agency) -> None:
    agency.event("Gala")
    employee = agency.employee("Emil")
    sign_in_as(context, alice, live_server.url)
    watched = Watched(context)

    page = watched.open(f"{live_server.url}/")
    expect(page.locator("#dashboard-live")).to_contain_text("Gala")
    # live.js ran: it left "connecting" (the stand-in stream opens, then ends).
    expect(page.locator("#live-status")).to_have_attribute("data-state", re.compile("live|reconnecting"))
    assert page.evaluate("typeof htmx") == "object"  # htmx ran, with the nonce
    # The layout's style sheet applies (it is a file now, no inline <style>).
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"

    page = watched.open(f"{live_server.url}/simulator/")
    expect(page.locator("h1")).to_have_text("WhatsApp simulator")
    page = watched.open(f"{live_server.url}/simulator/{employee.pk}/")
    expect(page.locator("h1")).to_contain_text("Emil")
    assert page.evaluate("getComputedStyle(document.querySelector('.answer')).display") == "flex"

    page = watched.open(f"{live_server.url}/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    watched.assert_clean()


def test_the_api_docs_render_under_the_policy(live_server, context, alice) -> None:
    sign_in_as(context, alice, live_server.url)
    watched = Watched(context)
    page = watched.open(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Crewcall API")
    operation = page.locator(".opblock-get").first
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    watched.assert_clean()


def test_sign_in_with_the_keyboard_alone(live_server, context, bob) -> None:
    watched = Watched(context)
    page = watched.open(f"{live_server.url}/")  # redirected to the sign-in page
    assert page.url == f"{live_server.url}/login/?next=/"
    assert page.evaluate("document.documentElement.lang") == "en"

    # The username field has the focus from the start; Tab goes on to the password.
    expect(page.locator("#id_username")).to_be_focused()
    page.keyboard.type("bob")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.type("wrong")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("username or password is not right")
    assert page.url.startswith(f"{live_server.url}/login/")

    expect(page.locator("#id_username")).to_be_focused()  # autofocus again
    assert page.locator("#id_username").input_value() == "bob"  # kept
    page.keyboard.press("Tab")
    page.keyboard.type("x")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Dashboard")
    assert page.url == f"{live_server.url}/"
    expect(page.get_by_role("navigation")).to_contain_text("Events")

    page.get_by_role("button", name="Log out").click()
    expect(page.locator("h1")).to_have_text("Sign in")
    assert page.url == f"{live_server.url}/login/"
    watched.assert_clean()


def test_a_skip_link_comes_first_and_focus_is_visible(live_server, context, bob) -> None:
    sign_in_as(context, bob, live_server.url)
    page = Watched(context).open(f"{live_server.url}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0  # shown while focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Log out"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    width = page.evaluate("parseFloat(getComputedStyle(document.activeElement).outlineWidth)")
    assert outline == "solid" and width >= 2


@pytest.mark.parametrize("path", ["/login/", "/"])
def test_a_phone_never_scrolls_sideways(live_server, phone, alice, agency, path) -> None:
    for n in range(12):
        agency.event(f"Sommerfest am Seeufer mit langem Namen {n}")
    sign_in_as(phone, alice, live_server.url) if path != "/login/" else None
    watched = Watched(phone)
    page = watched.open(f"{live_server.url}{path}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    header = page.locator("header .bar").bounding_box()
    assert header is not None and header["width"] <= PHONE["width"]
    watched.assert_clean()
