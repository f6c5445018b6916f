"""Test helpers for `crewcall serve` as a real process: a data folder of its own (short, so
the embedded server's socket path fits), a free port, its children read from /proc, and
HTTP probes. Every wait is bounded; `serving()` kills whatever a failing test leaves."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import importlib.metadata
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crewcall.core.embedded import pid_of_server
from crewcall.core.supervisor import answers
from crewcall.testing.waiting import wait_until

FIRST_START_S = 240.0  # initdb and every migration, on a busy two-core machine
START_S = 120.0
STOP_S = 60.0


def child_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")}
    env["CREWCALL_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name, which is in parentheses and may hold spaces.
    return stat.rsplit(")", 1)[1].split()


def live_members(pgid: int) -> list[int]:
    """PIDs in process group `pgid` that are not zombies (read from /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def children_of(pid: int) -> dict[int, str]:
    """Live child processes of `pid` and the crewcall command each runs ("web", "worker")."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if not fields or int(fields[1]) != pid or fields[0] in ("Z", "X"):
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"crewcall" in argv:
                found[int(entry.name)] = argv[argv.index(b"crewcall") + 1].decode()
    return found


def stop_postgres(data_dir: Path) -> None:
    """Last-resort cleanup: a fast shutdown of a server a failed test left running."""
    pid = pid_of_server(data_dir)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)  # the postmaster's "fast" shutdown
    with contextlib.suppress(AssertionError):
        wait_until(lambda: pid_of_server(data_dir) is None, timeout=30, what="postgres to stop")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def scratch_data_dir(template: Path | None = None) -> Iterator[Path]:
    """A new data folder under /tmp, a copy of `template` (a stopped one) when given."""
    folder = Path(tempfile.mkdtemp(prefix="cc"))
    try:
        if template is not None:
            # cp -a keeps owners: the embedded server's files belong to `pgserver` under root.
            subprocess.run(["cp", "-a", f"{template}/.", str(folder)], check=True, timeout=STOP_S)
        yield folder
    finally:
        stop_postgres(folder)
        shutil.rmtree(folder, ignore_errors=True)


def migrate(data_dir: Path) -> None:
    """Create the embedded server and the schema; the command stops the server as it leaves."""
    done = subprocess.run(
        [sys.executable, "-m", "crewcall", "migrate", "--no-input", "-v", "0"],
        env=child_env(data_dir), capture_output=True, text=True, timeout=FIRST_START_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


PACKAGE = Path(__file__).resolve().parents[2]
# What a migrated data folder is made from (patterns under the package).
SCHEMA_SOURCES = (
    "*/migrations/*.py",
    "settings.py",
    "core/db/*.py",
    "core/embedded.py",
    "core/roles.py",
    "core/management/commands/migrate.py",
)


def schema_key() -> str:
    """A digest of everything `crewcall migrate` on a new data folder depends on: every
    migration, the code that makes the server, the roles and the grants, and the installed
    distributions (third-party migrations, the PostgreSQL binaries)."""
    digest = hashlib.sha256()
    for path in sorted({path for pattern in SCHEMA_SOURCES for path in PACKAGE.glob(pattern)}):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    for dist in sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()):
        digest.update(dist.encode() + b"\0")
    return digest.hexdigest()[:16]


def migrated_template(cache: Path, *, rebuild: bool = False) -> Path:
    """A stopped, migrated data folder to copy, kept in `cache` between runs (as pytest-django's
    --reuse-db keeps the test database) under a digest of what it depends on: initdb and every
    migration run once, not once per module and run. `rebuild` (--create-db) makes it anew.
    A lock lets parallel test processes share it; the newest digest is the only one kept.
    A folder appears under its digest only once complete (built aside, then renamed)."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / schema_key()
    with (cache / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if rebuild or not target.exists():
            shutil.rmtree(target, ignore_errors=True)
            with scratch_data_dir() as folder:  # short path: the server's socket lives in it
                migrate(folder)
                building = cache / f"{target.name}.building"
                shutil.rmtree(building, ignore_errors=True)
                subprocess.run(["cp", "-a", f"{folder}/.", str(building)], check=True, timeout=STOP_S)
                building.rename(target)
        for old in cache.iterdir():
            if old.is_dir() and old.name != target.name:
                shutil.rmtree(old, ignore_errors=True)
    return target


class Serve:
    """One `crewcall serve` in a new session (its own process group), output to a file."""

    def __init__(self, data_dir: Path, port: int, log: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.port = port
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crewcall", "serve", "--port", str(port), *extra],
                env=child_env(data_dir),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pgid = self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self, timeout: float) -> None:
        url = f"{self.url}/healthz"

        def healthy() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.output()}")
            return answers(url)

        try:
            wait_until(healthy, timeout=timeout, what=f"{url}")
            # The banner comes once serve saw it healthy: every child has started by then.
            wait_until(lambda: "Crewcall is running" in self.output(), timeout=timeout, what="the banner")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- serve output ---\n{self.output()}") from None

    def children(self) -> dict[int, str]:
        return children_of(self.process.pid)

    def pids(self, command: str) -> set[int]:
        return {pid for pid, name in self.children().items() if name == command}

    def serving(self, pid: int) -> bool:
        """The web process `pid` has started serving (uvicorn logged it)."""
        return f"Started server process [{pid}]" in self.output()

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_S)

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; the exit code and the seconds serve took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"serve did not stop:\n{self.output()}") from None
        return code, time.monotonic() - started


@contextlib.contextmanager
def serving(data_dir: Path, port: int, name: str, *extra: str) -> Iterator[Serve]:
    serve = Serve(data_dir, port, data_dir / f"{name}.log", *extra)
    try:
        yield serve
    finally:
        serve.kill_group()


def token_for_admin(data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "crewcall", "token", "create", "--user", "admin"],
        env=child_env(data_dir), capture_output=True, text=True, timeout=START_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def scrape(url: str, *, timeout: float = 10.0) -> str:
    """The text of GET `url` on a new connection (no proxy)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", "/" + url.split("//", 1)[1].split("/", 1)[1])
        return connection.getresponse().read().decode()
    finally:
        connection.close()


@dataclass
class Probe:
    """GETs `path` in a loop on a new connection each time, in a thread, until stopped;
    tells refused connections from other failures and records the slowest answer."""

    host: str
    port: int
    path: str = "/healthz"
    timeout: float = 15.0
    answered: int = 0
    refused: int = 0
    failed: list[str] = field(default_factory=list)
    slowest_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _once(self) -> None:
        started = time.monotonic()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("GET", self.path)
            status = connection.getresponse().status
        except ConnectionRefusedError:
            self.refused += 1
            return
        except (OSError, http.client.HTTPException) as exc:
            self.failed.append(repr(exc))
            return
        finally:
            connection.close()
        self.slowest_s = max(self.slowest_s, time.monotonic() - started)
        if status == 200:
            self.answered += 1
        else:
            self.failed.append(f"status {status}")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._once()
            time.sleep(0.02)

    def __enter__(self) -> Probe:
        self._thread = threading.Thread(target=self._run, daemon=True, name="probe")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)
