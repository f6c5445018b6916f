"""Reply parsing: buttons first, then words and emoji in English and German."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crewcall.messaging.replies import parse_reply


@pytest.mark.parametrize(
    "text",
    ["yes", "Yes!", "JA", "ja gerne", "ok", "Okay, bin dabei", "👍", "👍🏽", "✅", "Jo", "klar, ich komme", "sure thing",
     "I'm in", "count me in 🙂"],
)  # fmt: skip
def test_yes_in_words_and_emoji(text: str) -> None:
    assert parse_reply(body=text).answer == "yes"


@pytest.mark.parametrize(
    "text",
    ["no", "No.", "nein", "Nein danke", "nee", "leider nicht", "👎", "❌", "sorry, can't make it", "kann nicht",
     "keine Zeit", "I cannot", "nö"],
)  # fmt: skip
def test_no_in_words_and_emoji(text: str) -> None:
    assert parse_reply(body=text).answer == "no"


@pytest.mark.parametrize("text", ["", "   ", "wann ist das?", "ja nein", "what time?", "Hallo 🙂", "?"])
def test_unclear_replies_are_left_to_a_human(text: str) -> None:
    assert parse_reply(body=text).answer is None


def test_a_button_payload_wins_over_the_words() -> None:
    parsed = parse_reply(body="nein", button_payload="YES_42")
    assert (parsed.answer, parsed.invitation_id, parsed.via) == ("yes", 42, "button")
    assert parse_reply(body="", button_payload="no").answer == "no"
    assert parse_reply(body="", button_payload="NO_7").invitation_id == 7


@given(st.text(max_size=200), st.text(max_size=40))
def test_parsing_never_fails_on_any_input(body: str, payload: str) -> None:
    parsed = parse_reply(body=body, button_payload=payload)
    assert parsed.answer in ("yes", "no", None)
