"""The metrics folder over time: the files of processes that ended are folded into one.

prometheus_client's multiprocess mode gives every process its own files (`counter_<pid>.db`,
`histogram_<pid>.db`, `gauge_<mode>_<pid>.db`), and a scrape adds them all up. A process
that ends leaves its files behind, so the folder grows with every process start (a worker
restarted by `serve`, a `crewcall` command). Removing them would make what they counted
vanish from the totals (a counter going down); prometheus_client itself only offers
`mark_process_dead`, which removes the "live" gauges of a dead process.

So the files of processes that no longer run are folded into archive files, one per kind
(`counter_archive.db`, ...), with the rule a scrape would apply: counters, histograms,
summaries and `sum` gauges add up, `max`/`min` gauges keep the extreme, `mostrecent` the
latest value; `live*` and `all` gauges of a dead process are dropped (a value of a process
that does not exist any more). A scrape sees the same totals before and after.

"Dead" means: no process with that pid on this machine (`kill(pid, 0)`). The folder must
therefore belong to this machine and this pid namespace (the default, `<data folder>/metrics`,
does; a shared `PROMETHEUS_MULTIPROC_DIR` must not be used across machines or containers).
Folding and reading hold a lock on the folder (exclusive to fold, shared to read), so a
scrape never sees a process counted twice or not at all. Only a crash of the folding process
between writing the archive and removing the files it folded could count them twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess
from prometheus_client.mmap_dict import MmapedDict

from crewcall.core.telemetry import METRICS_FILE, metrics_dir

logger = logging.getLogger(__name__)

ARCHIVE = "archive"
# How the value of a dead process joins the archive, by file kind (the name before the pid).
ADD = {"counter", "histogram", "summary", "gauge_sum"}
EXTREME = {"gauge_max": max, "gauge_min": min}
LATEST = {"gauge_mostrecent"}
# Everything else a process writes (gauge_all, gauge_live*) describes that process only.

Values = dict[str, tuple[float, float]]  # mmap key -> (value, timestamp)


@dataclass(frozen=True)
class Folded:
    processes: int
    files: int


def process_alive(pid: int) -> bool:
    """A process with this pid runs on this machine (one we may not signal runs too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_path(folder: Path) -> Path:
    return folder.parent / f"{folder.name}.lock"


@contextlib.contextmanager
def folder_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """flock on `<folder>.lock` (beside the folder, so emptying the folder leaves it);
    released when the process dies, whatever happens."""
    fd = os.open(lock_path(folder), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


class LockedMultiProcessCollector(multiprocess.MultiProcessCollector):
    """Reads every file under the shared lock, so folding never happens mid-read."""

    def collect(self) -> Iterable[Any]:
        with folder_lock(Path(self._path), exclusive=False):
            return list(super().collect())


def _read(path: Path) -> Values | None:
    """A file's values, or None when it cannot be read (a process killed while it created
    the file leaves it empty or cut short: there is nothing in it to keep)."""
    try:
        return {key: (value, ts) for key, value, ts, _ in MmapedDict.read_all_values_from_file(str(path))}
    except (OSError, RuntimeError, struct.error, UnicodeDecodeError):
        return None


def _join(kind: str, into: Values, values: Values) -> None:
    for key, (value, ts) in values.items():
        if key not in into:
            into[key] = (value, ts)
            continue
        old, old_ts = into[key]
        if kind in ADD:
            into[key] = (old + value, max(old_ts, ts))
        elif kind in EXTREME:
            into[key] = (EXTREME[kind](old, value), max(old_ts, ts))
        elif ts > old_ts:  # LATEST
            into[key] = (value, ts)


def _write(folder: Path, kind: str, values: Values) -> None:
    """Replace the archive of `kind` in one step: a reader sees the old one or the new one."""
    tmp = folder / f".{kind}_{ARCHIVE}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    store = MmapedDict(str(tmp))
    try:
        for key, (value, ts) in values.items():
            store.write_value(key, value, ts)
    finally:
        store.close()
    os.replace(tmp, folder / f"{kind}_{ARCHIVE}.db")


def fold_dead_processes(folder: Path | None = None) -> Folded:
    """Fold the files of processes that no longer run into the archive files and remove
    them. Returns how many processes and files were folded."""
    folder = folder or metrics_dir()
    if not folder.is_dir():
        return Folded(0, 0)
    with folder_lock(folder, exclusive=True):
        dead: dict[str, list[Path]] = {}
        pids: set[int] = set()
        for path in folder.glob("*.db"):
            match = METRICS_FILE.match(path.name)
            if match is None or process_alive(int(match["pid"])):
                continue
            dead.setdefault(match["kind"], []).append(path)
            pids.add(int(match["pid"]))
        for kind, paths in dead.items():
            if kind not in ADD and kind not in EXTREME and kind not in LATEST:
                continue
            archive = folder / f"{kind}_{ARCHIVE}.db"
            merged: Values = (_read(archive) or {}) if archive.exists() else {}
            changed = False
            for path in paths:
                values = _read(path)
                if values:
                    _join(kind, merged, values)
                    changed = True
            if changed:
                _write(folder, kind, merged)
        files = 0
        for paths in dead.values():
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    files += 1
    if files:
        logger.info("metrics: folded %d file(s) of %d ended process(es) into the archive", files, len(pids))
    return Folded(len(pids), files)
