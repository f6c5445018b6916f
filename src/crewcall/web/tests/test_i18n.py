"""English and German: the dispatcher's pages follow the header's switch, else the browser
(English by default); the employee's page, calendar and messages follow the employee's
preferred language, whatever the browser says; and the German catalogue is complete and
current (every marked string of the code is in it, translated, none fuzzy)."""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import icalendar
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from crewcall.conftest import Agency
from crewcall.messaging.texts import preferred_language, render_for
from crewcall.staffing.services import invitation_create
from crewcall.web.personal import employee_link_token

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
ROOT = Path(settings.BASE_DIR).parents[1]  # the repository: Makefile, src/, .venv …


# --- The catalogue -------------------------------------------------------------------


@dataclass
class Entry:
    context: str | None = None
    msgid: str | None = None
    plural: str | None = None
    translations: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.context, self.msgid or "", self.plural)

    def __str__(self) -> str:
        return f"{self.context + ' | ' if self.context else ''}{self.msgid!r}"


def read_po(path: Path) -> list[Entry]:
    """The entries of a PO file (the header included, as the entry with msgid "")."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry, target = Entry(), ""
        for line in block.splitlines():
            if line.startswith("#~"):
                entry.obsolete = True
            elif line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#") or not line.strip():
                continue
            elif line.startswith('"'):
                value = ast.literal_eval(line)
                if target == "msgstr":
                    entry.translations[-1] += value
                else:
                    setattr(entry, target, getattr(entry, target) + value)
            else:
                keyword, _space, rest = line.partition(" ")
                value = ast.literal_eval(rest)
                if keyword.startswith("msgstr"):
                    target = "msgstr"
                    entry.translations.append(value)
                else:
                    target = {"msgctxt": "context", "msgid": "msgid", "msgid_plural": "plural"}[keyword]
                    setattr(entry, target, value)
        if entry.msgid is not None and not entry.obsolete:
            entries.append(entry)
    return entries


def problems_of(entries: list[Entry]) -> list[str]:
    """Entries a German reader would see in English (untranslated) or wrongly (fuzzy)."""
    problems = []
    for entry in entries:
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry}")
        if not entry.translations or not all(entry.translations):
            problems.append(f"untranslated: {entry}")
    return problems


def ignored_by_makemessages() -> list[str]:
    """The folders `make messages` leaves out (MESSAGES_IGNORE in the Makefile)."""
    found = re.search(r"^MESSAGES_IGNORE :=(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert found, "the Makefile names what makemessages ignores (MESSAGES_IGNORE)"
    return found[1].split()


def test_the_committed_catalogue_has_no_untranslated_or_fuzzy_entry() -> None:
    entries = read_po(CATALOGUE)
    header = next(e for e in entries if e.msgid == "")
    assert "fuzzy" not in header.flags and "Language: de\n" in header.translations[0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.translations[0]
    assert problems_of(entries) == []
    assert len(entries) > 300  # the whole app, not a stub


def test_the_compiled_catalogue_is_there_and_up_to_date() -> None:
    """Django reads the .mo, which `make` (run, test, screenshots) compiles from the .po."""
    compiled = CATALOGUE.with_suffix(".mo")
    assert compiled.exists(), f"{compiled} is missing: run `make {compiled.relative_to(ROOT)}`"
    assert compiled.stat().st_mtime >= CATALOGUE.stat().st_mtime, (
        f"{compiled} is older than the .po: run make"
    )


def test_the_catalogue_is_current_with_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """makemessages, run on a copy of the catalogue, adds nothing and removes nothing: every
    string marked in the code is in the committed .po, translated, and nothing else is."""
    copy = tmp_path / "locale" / "de" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(CATALOGUE, copy)
    before = CATALOGUE.read_bytes()
    monkeypatch.chdir(ROOT)
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        call_command(
            "makemessages",
            locale=["de"],
            # Not "locale" folders either: makemessages would write into any it meets.
            ignore_patterns=[*ignored_by_makemessages(), "locale"],
            no_obsolete=True,
            add_location="file",
            verbosity=0,
        )

    assert CATALOGUE.read_bytes() == before, "the test must not touch the committed catalogue"
    committed = {e.key for e in read_po(CATALOGUE)}
    fresh = read_po(copy)
    new = sorted(str(e) for e in fresh if e.key not in committed)
    gone = sorted(map(str, committed - {e.key for e in fresh}))
    hint = "run `make messages` and translate the new entries of " + str(CATALOGUE.relative_to(ROOT))
    assert new == [], f"marked in the code but not in the catalogue ({hint}): {new}"
    assert gone == [], f"in the catalogue but no longer in the code ({hint}): {gone}"
    # A changed string comes back from msgmerge as "fuzzy", with the old translation.
    assert problems_of(fresh) == [], hint


def test_the_reader_finds_untranslated_and_fuzzy_entries(tmp_path: Path) -> None:
    """The checks above can fail: an empty msgstr, an empty plural form and a fuzzy entry."""
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n\n'
        'msgid "Done"\nmsgstr "Fertig"\n\n'
        'msgctxt "board"\nmsgid "New"\nmsgstr ""\n\n'
        'msgid "%(n)d day"\nmsgid_plural "%(n)d days"\nmsgstr[0] "%(n)d Tag"\nmsgstr[1] ""\n\n'
        '#, fuzzy, python-format\nmsgid "Saved"\nmsgstr "Gespeichert"\n\n'
        '#~ msgid "Old"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    assert problems_of(read_po(po)) == [
        "untranslated: board | 'New'",
        "untranslated: '%(n)d day'",
        "fuzzy: 'Saved'",
    ]


# --- The dispatcher's pages ----------------------------------------------------------


def nav_of(html: str) -> str:
    found = re.search(r"<nav[^>]*>(.*?)</nav>", html, re.DOTALL)
    assert found, html
    return found[1]


@pytest.mark.django_db
def test_english_is_the_default(as_bob: Client) -> None:
    response = as_bob.get("/")
    html = response.content.decode()
    assert '<html lang="en">' in html and response["Content-Language"] == "en"
    assert ">Dashboard<" in nav_of(html) and ">Employees<" in nav_of(html)
    assert 'aria-pressed="true">English</button>' in html and 'lang="de" aria-pressed="false">Deutsch' in html
    refused = as_bob.post(reverse("people:create"), {"name": ""})
    assert "This field is required." in refused.content.decode()


@pytest.mark.django_db
def test_the_browser_language_decides_without_a_choice(as_bob: Client) -> None:
    response = as_bob.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    html = response.content.decode()
    assert '<html lang="de">' in html and response["Content-Language"] == "de"
    nav = nav_of(html)
    for german in ("Übersicht", "Mitarbeiter", "Veranstaltungen", "Nachrichten"):
        assert f">{german}<" in nav
    assert "Dashboard" not in nav and ">Abmelden</button>" in html
    # Django's own form errors come in German too, next to the field.
    refused = as_bob.post(reverse("people:create"), {"name": ""}, HTTP_ACCEPT_LANGUAGE="de")
    page = refused.content.decode()
    assert "Dieses Feld ist zwingend erforderlich." in page and "This field is required." not in page
    assert "Neuer Mitarbeiter" in page and 'for="id_phone_number">Telefonnummer</label>' in page
    # A language nobody translated falls back to English.
    assert ">Dashboard<" in nav_of(as_bob.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode())


@pytest.mark.django_db
def test_the_header_switch_sets_the_language_for_later_pages(as_bob: Client) -> None:
    switched = as_bob.post(reverse("set_language"), {"language": "de", "next": "/employees/"})
    assert switched.status_code == 302 and switched["Location"] == "/employees/"
    assert as_bob.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"

    # The choice wins over what the browser asks for.
    page = as_bob.get("/employees/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="de">' in page and ">Übersicht<" in nav_of(page)
    # Each language keeps its own name on the switch.
    assert 'lang="de" aria-pressed="true">Deutsch</button>' in page
    assert 'lang="en" aria-pressed="false">English</button>' in page
    assert "Keine Mitarbeiter passen zu diesen Filtern." in page

    as_bob.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert ">Dashboard<" in nav_of(as_bob.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode())


@pytest.mark.django_db
def test_the_live_banner_words_come_from_the_server(as_bob: Client) -> None:
    english = as_bob.get("/").content.decode()
    assert 'data-text-reconnecting="reconnecting…"' in english and ">connecting…</span>" in english
    german = as_bob.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert (
        'data-text-reconnecting="verbindet neu …"' in german
        and 'data-text-live-again="wieder live"' in german
    )
    assert 'data-text-reloaded="neu geladen"' in german and ">verbindet …</span>" in german


@pytest.mark.django_db
def test_the_sign_in_page_speaks_german_too(client: Client) -> None:
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "<h1>Anmelden</h1>" in page and ">Benutzername</label>" in page and ">Passwort</label>" in page
    refused = client.post(
        reverse("login"), {"username": "nobody", "password": "x"}, HTTP_ACCEPT_LANGUAGE="de"
    )
    assert "Benutzername oder Passwort stimmen nicht." in refused.content.decode()


# --- The employee's language ---------------------------------------------------------


def test_one_function_decides_the_employees_language() -> None:
    for given, spoken in (("de", "de"), ("en", "en"), ("", "de"), (None, "de"), ("fr", "de")):
        assert preferred_language(SimpleNamespace(preferred_language=given)) == spoken
    french = SimpleNamespace(name="Zoé Martin", preferred_language="fr")
    text, _variables = render_for("acknowledgement", employee=french)
    assert text == "Danke für deine Antwort, Zoé. Vielleicht klappt es beim nächsten Mal!"


@pytest.mark.django_db
def test_the_personal_page_follows_the_employee_not_the_browser(agency: Agency, client: Client) -> None:
    jana = agency.employee("Jana Berg", preferred_language="de")
    emil = agency.employee("Emil Weber", preferred_language="en")
    gala = agency.event("Gala")
    for person in (jana, emil):
        invitation_create(actor=agency.actor, event_id=gala.pk, employee_id=person.pk)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})  # even a chosen language

    german = client.get(
        reverse("employee-page", args=[employee_link_token(jana.pk)]), HTTP_ACCEPT_LANGUAGE="en"
    )
    html = german.content.decode()
    assert '<html lang="de">' in html and german["Content-Language"] == "de"
    assert "<h1>Hallo Jana</h1>" in html and "Offene Anfragen" in html and ">Zusagen</button>" in html
    assert "Bist du dabei?" in html and "Open requests" not in html and "Meine Einsätze · Crewcall" in html

    english = client.get(
        reverse("employee-page", args=[employee_link_token(emil.pk)]), HTTP_ACCEPT_LANGUAGE="de"
    )
    html = english.content.decode()
    assert '<html lang="en">' in html and english["Content-Language"] == "en"
    assert "<h1>Hi Emil</h1>" in html and "Are you in?" in html and ">Yes</button>" in html
    assert "Zusagen" not in html and "Offene Anfragen" not in html

    # A bad answer is refused in the employee's language, too.
    answer = reverse("employee-answer", args=[employee_link_token(jana.pk), 1])
    refused = client.post(answer, {"answer": "maybe"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400 and refused.content.decode() == "Unbekannte Antwort."


@pytest.mark.django_db
def test_the_calendar_feed_speaks_the_employees_language(agency: Agency, client: Client) -> None:
    jana = agency.employee("Jana", preferred_language="de")
    emil = agency.employee("Emil", preferred_language="en")
    gala = agency.event("Gala", end_time=None)
    for person in (jana, emil):
        agency.accepted(gala, person)

    def feed(employee: Any) -> icalendar.Calendar:
        url = reverse("employee-calendar", args=[employee_link_token(employee.pk)])
        return icalendar.Calendar.from_ical(client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content)

    german, english = feed(jana), feed(emil)
    assert str(german["x-wr-calname"]) == "Crewcall: meine Einsätze"
    assert str(english["x-wr-calname"]) == "Crewcall: my shifts"
    (german_shift,) = german.walk("VEVENT")
    (english_shift,) = english.walk("VEVENT")
    assert (
        str(german_shift["description"]) == "Ende offen" and str(english_shift["description"]) == "Open end"
    )
