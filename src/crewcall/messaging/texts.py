"""What Crewcall says on WhatsApp, in German and English (the employee's preferred
language). Plain text; invitations, reminders and confirmations also go out as Twilio
Content templates with the same variables when those are configured, so these texts are
kept here, per language, mirroring those templates (not in the gettext catalogue).

`preferred_language` decides which language Crewcall speaks to an employee, everywhere:
these messages, their personal page and their calendar feed (the latter two through
Django's translation catalogue, under `translation.override(preferred_language(...))`)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

# The languages Crewcall speaks to employees, and the one when theirs is unset or unknown.
EMPLOYEE_LANGUAGES = ("de", "en")
DEFAULT_EMPLOYEE_LANGUAGE = "de"


def preferred_language(employee: Any) -> str:
    """The language for everything an employee reads from Crewcall: their preferred one,
    German (the agency's language) when it is unset or one Crewcall does not speak."""
    language = getattr(employee, "preferred_language", None)
    return language if language in EMPLOYEE_LANGUAGES else DEFAULT_EMPLOYEE_LANGUAGE


TEXTS: dict[str, dict[str, str]] = {
    "invitation": {
        "de": (
            "Hallo {name}! Wir suchen Leute für „{title}“ am {date} um {start}{where}, "
            "{rate} €/h. Bist du dabei? Antworte mit Ja oder Nein.{page}"
        ),
        "en": (
            "Hi {name}! We need people for “{title}” on {date} at {start}{where}, "
            "€{rate}/h. Are you in? Reply Yes or No.{page}"
        ),
    },
    "confirmation": {
        "de": "Super, {name}! Du bist für „{title}“ am {date} um {start} eingeplant. Danke!{page}",
        "en": "Great, {name}! You are booked for “{title}” on {date} at {start}. Thank you!{page}",
    },
    "acknowledgement": {
        "de": "Danke für deine Antwort, {name}. Vielleicht klappt es beim nächsten Mal!",
        "en": "Thanks for letting us know, {name}. Maybe next time!",
    },
    "waitlist": {
        "de": (
            "Danke, {name}! „{title}“ am {date} ist gerade voll. Du stehst auf der Warteliste "
            "und bekommst sofort Bescheid, wenn ein Platz frei wird.{page}"
        ),
        "en": (
            "Thanks, {name}! “{title}” on {date} is full right now. You are on the waiting list "
            "and will hear from us as soon as a place opens.{page}"
        ),
    },
    "promoted": {
        "de": "Gute Nachricht, {name}: Ein Platz ist frei geworden. Du bist für „{title}“ am {date} um {start} eingeplant!{page}",
        "en": "Good news, {name}: a place opened up. You are booked for “{title}” on {date} at {start}!{page}",
    },
    "withdrawn": {
        "de": "Schade, {name}. Wir haben dich für „{title}“ am {date} ausgetragen.",
        "en": "Sorry to hear, {name}. We have taken you off “{title}” on {date}.",
    },
    "reminder": {
        "de": "Erinnerung, {name}: Morgen, {date}, „{title}“ um {start}{where}. Bis dann!{page}",
        "en": "Reminder, {name}: tomorrow, {date}, “{title}” at {start}{where}. See you!{page}",
    },
    "cancellation": {
        "de": "Hallo {name}, „{title}“ am {date} wurde leider abgesagt. Du musst nichts tun.",
        "en": "Hi {name}, “{title}” on {date} has been cancelled. Nothing to do for you.",
    },
    "nudge": {
        "de": "Hallo {name}, kurze Erinnerung: Bist du bei „{title}“ am {date} dabei? Antworte mit Ja oder Nein.{page}",
        "en": "Hi {name}, a quick reminder: are you in for “{title}” on {date}? Reply Yes or No.{page}",
    },
    "clarify": {
        "de": (
            "Hallo {name}, du hast mehrere offene Anfragen: {events}. Welche meinst du? "
            "Antworte mit der Nummer und Ja oder Nein, zum Beispiel „1 ja“."
        ),
        "en": (
            "Hi {name}, you have several open requests: {events}. Which one do you mean? "
            "Reply with its number and Yes or No, for example “1 yes”."
        ),
    },
    "help": {
        "de": "Hallo {name}, das habe ich nicht verstanden. Antworte auf eine Anfrage einfach mit Ja oder Nein.",
        "en": "Hi {name}, I didn't understand that. Just answer a request with Yes or No.",
    },
    "forwarded": {
        "de": "Danke, {name}! Deine Nachricht ist bei der Disposition angekommen; wir melden uns bei dir.",
        "en": "Thanks, {name}! Your message has reached the dispatchers; we will get back to you.",
    },
    "already": {
        "de": "Alles klar, {name}: Deine Antwort für „{title}“ haben wir schon.",
        "en": "All set, {name}: we already have your answer for “{title}”.",
    },
    "closed": {
        "de": "Hallo {name}, die Anfrage für „{title}“ ist nicht mehr offen. Danke trotzdem!",
        "en": "Hi {name}, the request for “{title}” is no longer open. Thanks anyway!",
    },
}


def _fmt_date(day: date | None, language: str) -> str:
    if day is None:
        return ""
    return day.strftime("%d.%m.%Y") if language == "de" else day.strftime("%d %b %Y")


def _fmt_time(moment: time | None) -> str:
    return moment.strftime("%H:%M") if moment else ""


# The employee's personal page under the texts that concern a shift (`page` variable).
PAGE_LINE = {"de": "\nDeine Einsätze und Antworten: {link}", "en": "\nYour shifts and answers: {link}"}


def page_line(link: str, language: str) -> str:
    return PAGE_LINE.get(language, PAGE_LINE[DEFAULT_EMPLOYEE_LANGUAGE]).format(link=link) if link else ""


def event_variables(event: Any, language: str) -> dict[str, str]:
    """The variables an event contributes, formatted for the language."""
    return {
        "title": event.title,
        "date": _fmt_date(event.event_date, language),
        "start": _fmt_time(event.start_time),
        "location": event.location or "—",
        "rate": f"{event.hourly_rate:.2f}".replace(".", "," if language == "de" else "."),
    }


def render_for(
    key: str, *, employee: Any, event: Any = None, link: str = "", **extra: str
) -> tuple[str, dict[str, str]]:
    """(text, variables) for an employee, in their language, about an event. `link`, the
    employee's personal page, closes the texts about a shift (and is then a variable, for
    a Content template to place); `where` is the event's location in parentheses after
    the time, or nothing when it has none (wording only, not a variable)."""
    language = preferred_language(employee)
    variables = {"name": employee.name.split(" ")[0], **extra}
    wording = {"page": page_line(link, language), "where": ""}
    if event is not None:
        variables.update(event_variables(event, language))
        wording["where"] = f" ({event.location})" if event.location else ""
    template = TEXTS[key].get(language) or TEXTS[key][DEFAULT_EMPLOYEE_LANGUAGE]
    if link and "{page}" in template:
        variables["link"] = link
    return template.format(**variables, **wording), variables
