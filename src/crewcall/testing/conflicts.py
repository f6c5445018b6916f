"""The conflict form of a page, read as a browser would send it: a stale save shows both
versions with a radio per field; `conflict_post` builds what pressing a button sends."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _ConflictForm(HTMLParser):
    """The inputs of the page's conflict form: hidden ones, and radios with the checked one."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.radios: dict[str, list[str]] = {}
        self.checked: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form" and "conflict-form" in found.get("class", "").split():
            self.inside = True
        elif tag == "input" and self.inside:
            if found.get("type") == "radio":
                self.radios.setdefault(found["name"], []).append(found["value"])
                if "checked" in found:
                    self.checked[found["name"]] = found["value"]
            elif found.get("type") == "hidden":
                self.fields.append((found["name"], found.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def conflict_form(response: Any) -> _ConflictForm:
    parsed = _ConflictForm()
    parsed.feed(response.content.decode())
    assert parsed.fields, "the page has no conflict form"
    return parsed


def conflict_post(response: Any, resolve: str, **picks: str) -> dict[str, list[str]]:
    """What the conflict form sends: its hidden inputs, the radios (checked ones unless
    `picks` says field=theirs|mine) and the button pressed (`mine` or `merge`)."""
    form = conflict_form(response)
    data: dict[str, list[str]] = {}
    for name, value in form.fields:
        data.setdefault(name, []).append(value)
    choices = dict(form.checked)
    for field, side in picks.items():
        assert side in form.radios[f"pick-{field}"], (field, form.radios)
        choices[f"pick-{field}"] = side
    for name, side in choices.items():
        data[name] = [side]
    data["resolve"] = [resolve]
    return data
