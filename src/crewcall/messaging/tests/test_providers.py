"""Provider plumbing: error mapping, the redirecting HTTP client, provider choice."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from urllib3.exceptions import MaxRetryError, NewConnectionError

from crewcall.messaging.providers import get_provider
from crewcall.messaging.providers.simulator import SimulatorProvider
from crewcall.messaging.providers.twilio import RedirectingHttpClient, TwilioProvider, map_error
from crewcall.messaging.tests.fake_twilio import FakeTwilio


@pytest.mark.parametrize(
    ("exc", "code", "retryable", "maybe_sent"),
    [
        (TwilioRestException(400, "/x", "bad number", code=21211), "21211", False, False),
        (TwilioRestException(401, "/x", "auth"), "http_401", False, False),
        (TwilioRestException(429, "/x", "slow down"), "http_429", True, False),
        (TwilioRestException(500, "/x", "oops"), "http_500", True, True),
        (TwilioRestException(503, "/x", "down", code=20503), "20503", True, True),
        (requests.ConnectTimeout("connect"), "connect_timeout", True, False),
        (
            requests.ConnectionError(MaxRetryError(None, "/x", NewConnectionError(None, "refused"))),  # type: ignore[arg-type]
            "connect_failed",
            True,
            False,
        ),
        (requests.ConnectionError("reset mid-answer"), "connection_lost", True, True),
        (requests.ReadTimeout("read"), "timeout", True, True),
    ],
)
def test_errors_say_whether_to_retry_and_whether_it_may_be_sent(
    exc: Exception, code: str, retryable: bool, maybe_sent: bool
) -> None:
    error = map_error(exc)
    assert (error.code, error.retryable, error.maybe_sent) == (code, retryable, maybe_sent)


def test_unknown_errors_are_not_swallowed() -> None:
    with pytest.raises(ZeroDivisionError):
        map_error(ZeroDivisionError())


def test_the_sdk_is_redirected_to_the_fake_and_authenticates(
    twilio_settings: Any, fake_twilio: FakeTwilio
) -> None:
    provider = TwilioProvider()
    assert isinstance(provider.client.http_client, RedirectingHttpClient)
    records = provider.client.messages.list(to="whatsapp:+4915100000001", limit=5)
    assert records == []
    [request] = fake_twilio.requests
    assert request.method == "GET" and request.query["To"] == "whatsapp:+4915100000001"
    assert request.authorization.startswith("Basic ")


def test_without_a_fake_base_the_plain_sdk_client_is_used(twilio_settings: Any) -> None:
    twilio_settings.TWILIO_API_BASE = ""
    provider = TwilioProvider()
    assert type(provider.client.http_client).__name__ == "TwilioHttpClient"
    assert provider.client.http_client.timeout == 0.4


def test_provider_choice(settings: Any, twilio_settings: Any) -> None:
    assert isinstance(get_provider("simulator"), SimulatorProvider)
    assert isinstance(get_provider("twilio"), TwilioProvider)
    assert get_provider("twilio") is get_provider("twilio")  # one client per thread
    settings.MESSAGING_PROVIDER = "simulator"
    assert isinstance(get_provider(), SimulatorProvider)
    with pytest.raises(ValueError, match="unknown"):
        get_provider("pigeon")


@pytest.mark.parametrize(
    "url",
    [
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
        "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
    ],
)
def test_every_twilio_host_is_rewritten(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def fake_request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        seen.append(url)

    monkeypatch.setattr("twilio.http.http_client.TwilioHttpClient.request", fake_request)
    RedirectingHttpClient("http://127.0.0.1:9/").request("GET", url)
    assert seen == ["http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json"]
