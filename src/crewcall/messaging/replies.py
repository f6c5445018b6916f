"""Understanding a WhatsApp reply: a button payload first, then words and emoji in
English and German; and what else the text says to tell its invitation apart (a date, a
number from a list, the event's name), and whether it asks something. Pure functions,
no database."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

Answer = Literal["yes", "no"]

# Quick-reply buttons carry "YES_<invitation id>" / "NO_<invitation id>"; a template
# without variables in its payloads may send bare "YES" / "NO".
_PAYLOAD = re.compile(r"^(YES|NO)(?:_(\d{1,18}))?$", re.IGNORECASE)

YES_WORDS = frozenset(
    {
        "yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "k", "confirm", "confirmed", "accept",
        "ja", "j", "jo", "jap", "jep", "jawohl", "klar", "gerne", "gern", "passt", "zusage", "dabei",
        "👍", "✅", "👌", "✔", "☑",
    }
)  # fmt: skip
NO_WORDS = frozenset(
    {
        "no", "n", "nope", "nah", "decline", "cannot", "cant", "can't",
        "nein", "nee", "ne", "nö", "noe", "absage", "leider",
        "👎", "❌", "✖", "🚫",
    }
)  # fmt: skip
# Whole phrases that settle it even though a single word would not (or would mislead).
YES_PHRASES = ("bin dabei", "ich komme", "i'm in", "im in", "count me in", "i can", "ich kann")
NO_PHRASES = (
    "kann nicht",
    "can not",
    "i can't",
    "i cannot",
    "keine zeit",
    "not available",
    "bin raus",
    "no time",
)

_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f\u200d]")
_TOKEN = re.compile(r"[\w']+|[^\w\s]", re.UNICODE)


# "30.12.", "30.12.2026", "3.1." in a text answer: which event's date it names.
_DAY_MONTH = re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(?:(?:20)?\d{2}(?!\d))?")
# A choice from a numbered list ("1", "2 ja", "nr. 3 nein"): one or two digits on their own.
_NUMBER = re.compile(r"(?<![\d.:])(\d{1,2})(?![\d.:])")


@dataclass(frozen=True)
class ParsedReply:
    answer: Answer | None
    invitation_id: int | None = None  # from a button payload
    via: Literal["button", "words", "none"] = "none"
    days: tuple[tuple[int, int], ...] = ()  # (day, month) the text names
    number: int | None = None  # a choice from a numbered list, when the text has one number
    words: frozenset[str] = frozenset()  # the text's words, folded (no accents, lower case)
    question: bool = False


def fold(text: str) -> str:
    """Lower case without accents: "Müller" and "muller" alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _details(text: str) -> dict[str, object]:
    days = tuple(
        (int(d), int(m)) for d, m in _DAY_MONTH.findall(text) if 1 <= int(d) <= 31 and 1 <= int(m) <= 12
    )
    numbers = _NUMBER.findall(_DAY_MONTH.sub(" ", text))
    return {
        "days": days,
        "number": int(numbers[0]) if len(numbers) == 1 else None,
        "words": frozenset(re.findall(r"\w+", fold(text))),
        "question": "?" in text,
    }


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).strip().lower()
    return _SKIN_TONES.sub("", text)


def parse_reply(*, body: str, button_payload: str = "") -> ParsedReply:
    payload = button_payload.strip()
    match = _PAYLOAD.match(payload)
    if match:
        answer: Answer = "yes" if match.group(1).upper() == "YES" else "no"
        invitation_id = int(match.group(2)) if match.group(2) else None
        return ParsedReply(answer=answer, invitation_id=invitation_id, via="button")
    text = normalise(body)
    if not text:
        return ParsedReply(answer=None)
    details: dict[str, Any] = _details(text)
    # "can't" must not read as "can": phrases are checked before words, no before yes.
    saw_no = any(p in text for p in NO_PHRASES)
    saw_yes = any(p in text for p in YES_PHRASES) and not saw_no
    tokens = _TOKEN.findall(text)
    saw_yes = saw_yes or any(t in YES_WORDS for t in tokens)
    saw_no = saw_no or any(t in NO_WORDS for t in tokens)
    if saw_yes == saw_no:  # neither, or both ("ja… nein doch nicht"): a human must look
        return ParsedReply(answer=None, **details)
    return ParsedReply(answer="yes" if saw_yes else "no", via="words", **details)
