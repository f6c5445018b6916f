"""Screenshots of Crewcall's main pages, for the README: docs/screenshots/<page>-desktop.png
(1280 x 800) and <page>-phone.png (375 x 740, full page).

    .venv/bin/python tools/screenshots.py          (make screenshots)

Never the user's data: a scratch embedded PostgreSQL in .data/screenshots (emptied first;
DATABASE_URL is ignored), the demo agency loaded into it (`crewcall demo`: one fixed random
seed, dates relative to today, so two runs on the same day give the same pictures), a
dispatcher and an admin with known passwords, then a real `crewcall web` on 127.0.0.1 on a
free port, driven by Playwright with Debian's Chromium (CREWCALL_CHROMIUM overrides).
Everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
DATA = ROOT / ".data" / "screenshots"
DATABASE = "screenshots"
CHROMIUM = Path(os.environ.get("CREWCALL_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--font-render-hinting=none", "--hide-scrollbars"]  # fmt: skip
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}
PASSWORD = "screenshots-only-1"  # noqa: S105 - a throwaway scratch database's users
# A fixed key: the employee's personal link (signed with it) is the same in every run.
SECRET_KEY = "screenshots-only-not-a-secret-0123456789abcdef"  # noqa: S105
START_S = 60.0
SETTLE_MS = 400


@dataclass(frozen=True)
class Shot:
    name: str
    path: str
    who: str | None  # "dispatcher", "admin" or None (not signed in)
    optional: bool = False  # skipped when the page answers 404


def prepare_environment() -> None:
    if DATA.exists():  # a fresh database every run: the demo loads into an empty one only
        shutil.rmtree(DATA)
    DATA.mkdir(parents=True)
    os.environ["CREWCALL_DATA_DIR"] = str(DATA)
    os.environ["CREWCALL_DATABASE_NAME"] = DATABASE
    os.environ["CREWCALL_SECRET_KEY"] = SECRET_KEY
    os.environ.setdefault("XDG_RUNTIME_DIR", str(DATA))
    sys.path.insert(0, str(ROOT / "bench"))
    from scratch import use_scratch_database

    use_scratch_database("screenshots", DATABASE)


def load_data() -> list[Shot]:
    """Migrate, load the demo agency, add the two users; the pages to take."""
    from django.core.management import call_command
    from django.db.models import Count, Q

    from crewcall.accounts.models import User
    from crewcall.events.models import Event
    from crewcall.people.models import Employee
    from crewcall.web.personal import employee_link_token

    call_command("migrate", verbosity=0)
    call_command("demo")
    call_command("integrity", stdout=io.StringIO())  # the operations page shows its score
    User.objects.create_user("dispatcher", password=PASSWORD, role="dispatcher", first_name="Dana",
                             last_name="Dispatcher", is_staff=True)  # fmt: skip
    User.objects.create_user("admin", password=PASSWORD, role="admin", first_name="Ada", last_name="Admin",
                             is_staff=True, is_superuser=True)  # fmt: skip
    event = (
        Event.objects.filter(is_template=False, status="recruiting")
        .annotate(asked=Count("invitations"))
        .order_by("-asked", "event_date", "pk")
        .first()
    ) or Event.objects.filter(is_template=False).order_by("pk").first()
    if event is None:
        raise SystemExit("the demo loaded no event")
    employee = (
        Employee.objects.filter(is_active=True, anonymised_at__isnull=True)
        .annotate(open=Count("invitations", filter=Q(invitations__status="asked")))
        .order_by("-open", "pk")
        .first()
    )
    if employee is None:
        raise SystemExit("the demo loaded no employee")
    completed = (
        Event.objects.filter(is_template=False, status="completed").order_by("-event_date", "pk").first()
        or event
    )
    return [
        Shot("login", "/login/", None),
        Shot("dashboard", "/", "dispatcher"),
        Shot("employees", "/employees/", "dispatcher"),
        Shot("employee", f"/employees/{employee.pk}/", "dispatcher"),
        Shot("employee-edit", f"/employees/{employee.pk}/edit", "dispatcher"),
        Shot("employee-import", "/employees/import", "dispatcher"),
        Shot("events", "/events/", "dispatcher"),
        Shot("event-templates", "/events/templates/", "dispatcher"),
        Shot("event", f"/events/{event.pk}/", "dispatcher"),
        Shot("board", f"/events/{event.pk}/board/", "dispatcher"),
        Shot("board-hours", f"/events/{completed.pk}/board/", "dispatcher"),
        Shot("work-area-new", f"/events/{event.pk}/work-areas/new", "dispatcher"),
        Shot("messages", "/messages/", "dispatcher"),
        Shot("history", f"/history/event/{event.pk}/", "dispatcher"),
        Shot("users", "/users/", "admin"),
        Shot("simulator", "/simulator/", "dispatcher"),
        Shot("simulator-conversation", f"/simulator/{employee.pk}/", "dispatcher"),
        Shot("operations", "/operations/", "admin"),
        Shot("personal", f"/r/{employee_link_token(employee.pk)}/", None, optional=True),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def web_server() -> Iterator[str]:
    """A real `crewcall web` on the scratch database; its base URL."""
    from scratch import stop_process  # bench/ is on the path (prepare_environment)

    port = free_port()
    log = (DATA / "web.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "crewcall", "web", "--host", "127.0.0.1", "--port", str(port)],
        env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        began = time.monotonic()
        while True:
            if process.poll() is not None:
                raise SystemExit(f"crewcall web exited with {process.returncode}; see {DATA / 'web.log'}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            if time.monotonic() - began > START_S:
                raise SystemExit(f"crewcall web did not listen within {START_S:.0f} s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process, timeout=20)
        log.close()


def settle(page: Any) -> None:
    """Wait until the page is quiet: loaded, fonts ready, a live page connected to the
    change stream (whose request never ends, so "network idle" is bounded)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_load_state("load")
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=2_000)
    page.evaluate("document.fonts.ready.then(() => true)")
    status = page.locator("#live-status")
    if status.count():
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_selector("#live-status[data-state=live]", timeout=10_000)
    page.wait_for_timeout(SETTLE_MS)


def sign_in(context: Any, base: str, who: str) -> None:
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", who)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")  # the header has the language switch
    page.wait_for_url(f"{base}/", timeout=20_000)
    page.close()


def take(browser: Any, base: str, shots: list[Shot], width: str, options: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    contexts: dict[str | None, Any] = {}
    try:
        for shot in shots:
            if shot.who not in contexts:
                contexts[shot.who] = browser.new_context(
                    **options, locale="en-GB", timezone_id="Europe/Berlin", reduced_motion="reduce"
                )
                if shot.who:
                    sign_in(contexts[shot.who], base, shot.who)
            page = contexts[shot.who].new_page()
            page.on(
                "console",
                lambda m, s=shot: problems.append(f"{s.name}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e, s=shot: problems.append(f"{s.name}: {e}"))
            response = page.goto(base + shot.path)
            status = response.status if response else 0
            if status == 404 and shot.optional:
                print(f"  skipped {shot.name} ({shot.path} answers 404)")
                page.close()
                continue
            if status != 200:
                problems.append(f"{shot.name}: {shot.path} answered {status}")
                page.close()
                continue
            settle(page)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:  # noted, not fatal: the picture is still taken
                print(f"  note: {shot.name} is {overflow} px wider than the {width} viewport")
            target = OUT / f"{shot.name}-{width}.png"
            page.screenshot(path=str(target), full_page=width == "phone", animations="disabled", caret="hide")
            print(f"  {target.relative_to(ROOT)}")
            page.close()
    finally:
        for context in contexts.values():
            context.close()
    return problems


def write_index(shots: list[Shot]) -> None:
    lines = [
        "# Screenshots",
        "",
        "Crewcall's main pages with the demo agency loaded, at desktop width (1280 px) and on a",
        "phone (375 px, whole page). Regenerate them with `make screenshots`",
        "(`tools/screenshots.py`).",
        "",
    ]
    for shot in shots:
        desktop, phone = OUT / f"{shot.name}-desktop.png", OUT / f"{shot.name}-phone.png"
        if not desktop.exists():
            continue
        title = shot.name.replace("-", " ").capitalize()
        where = "/r/<token>/" if shot.path.startswith("/r/") else shot.path
        lines += [f"## {title} (`{where}`)", ""]
        lines.append(f"![{shot.name}, desktop]({desktop.name})")
        if phone.exists():
            lines.append(f"![{shot.name}, phone]({phone.name})")
        lines.append("")
    (OUT / "README.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    prepare_environment()
    from playwright.sync_api import sync_playwright

    from crewcall.core.lifecycle import release_database

    try:
        print("Loading the demo agency into a scratch database …", flush=True)
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        shots = load_data()
        from django.db import connections

        connections.close_all()  # the web process has the database to itself; we stay attached
        OUT.mkdir(parents=True, exist_ok=True)
        for old in OUT.glob("*.png"):
            old.unlink()
        with web_server() as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                problems = []
                for width, options in (("desktop", DESKTOP), ("phone", PHONE)):
                    print(f"{width}:", flush=True)
                    problems += take(browser, base, shots, width, options)
            finally:
                browser.close()
        write_index(shots)
        print(f"  {(OUT / 'README.md').relative_to(ROOT)}")
    finally:
        release_database()  # the embedded server stops when its last user leaves
    if problems:
        raise SystemExit("Problems seen on the pages:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    main()
