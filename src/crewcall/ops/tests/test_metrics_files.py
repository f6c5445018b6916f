"""The files of processes that ended are folded into archive files: the folder stops
growing with every process start, and the totals a scrape shows stay what they were
(removing the files instead, the control, loses what those processes counted)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from crewcall.ops import metrics, tasks
from crewcall.ops.metrics_files import LockedMultiProcessCollector, fold_dead_processes, folder_lock

# What a process counts: retries (counter), a request (histogram), open streams (a live
# gauge, summed over live processes) and when the breaker opened (a max gauge).
COUNT = """
import sys
from crewcall.core import telemetry
n = int(sys.argv[1])
for _ in range(n):
    telemetry.retry_ended("test.fold", "recovered")
telemetry.REQUEST_LATENCY.labels(route="/x", method="GET", status="2xx").observe(0.02 * n)
telemetry.CHANGE_SUBSCRIBERS.inc(n)
telemetry.BREAKER_LAST_OPENED.labels(breaker="test").set(1000 + n)
if len(sys.argv) > 2:
    print("counted", flush=True)
    sys.stdin.readline()  # stays alive until told to end
"""

RETRIES = ("crewcall_retries_total", (("operation", "test.fold"), ("outcome", "recovered")))
ROUTE = (("method", "GET"), ("route", "/x"), ("status", "2xx"))
REQUESTS = ("crewcall_http_request_duration_seconds_count", ROUTE)
REQUEST_TIME = ("crewcall_http_request_duration_seconds_sum", ROUTE)
SUBSCRIBERS = ("crewcall_change_stream_subscribers", ())
OPENED = ("crewcall_breaker_last_opened_timestamp_seconds", (("breaker", "test"),))

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}


def count_in_process(folder: Path, n: int) -> int:
    """A process that counts `n` and ends; returns its pid."""
    done = subprocess.Popen([sys.executable, "-c", COUNT, str(n)], env=_env(folder))
    assert done.wait(timeout=120) == 0
    return done.pid


def scrape(folder: Path, *, locked: bool = True) -> Samples:
    registry = CollectorRegistry()
    if locked:
        LockedMultiProcessCollector(registry, path=str(folder))
    else:
        multiprocess.MultiProcessCollector(registry, path=str(folder))
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def pid_files(folder: Path, pid: int) -> list[str]:
    return sorted(p.name for p in folder.glob(f"*_{pid}.db"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "metrics"
    path.mkdir()
    return path


def test_files_of_ended_processes_are_folded_and_the_totals_stay(folder: Path, tmp_path: Path) -> None:
    pids = [count_in_process(folder, n) for n in (1, 2, 3)]
    before = scrape(folder)
    assert before[RETRIES] == 6 and before[REQUESTS] == 3 and before[OPENED] == 1003
    # A live gauge of processes that ended is stale until the fold drops it.
    assert before.pop(SUBSCRIBERS) == 6
    control = tmp_path / "control"
    shutil.copytree(folder, control)

    folded = fold_dead_processes(folder)

    assert folded.processes == 3
    assert all(pid_files(folder, pid) == [] for pid in pids)
    assert sorted(p.name for p in folder.iterdir()) == [
        "counter_archive.db", "gauge_max_archive.db", "histogram_archive.db",
    ]  # fmt: skip
    after = scrape(folder)
    assert SUBSCRIBERS not in after
    assert after == before
    # The control: removing the files, as `crewcall web` used to, loses what they counted.
    for path in control.glob("*.db"):
        path.unlink()
    assert RETRIES not in scrape(control)


def test_a_running_process_keeps_its_files_and_is_folded_once_it_ends(folder: Path) -> None:
    count_in_process(folder, 2)
    fold_dead_processes(folder)  # an archive exists from now on
    live = subprocess.Popen(
        [sys.executable, "-c", COUNT, "4", "stay"], env=_env(folder), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert live.stdout is not None and live.stdout.readline().strip() == "counted"
        mine = pid_files(folder, live.pid)
        assert mine  # counter, histogram and gauges of its own

        assert fold_dead_processes(folder).processes == 0
        assert pid_files(folder, live.pid) == mine
        running = scrape(folder)
        assert running[RETRIES] == 6 and running[SUBSCRIBERS] == 4 and running[OPENED] == 1004
    finally:
        assert live.stdin is not None
        live.stdin.write("end\n")
        live.stdin.close()
        assert live.wait(timeout=60) == 0
        assert live.stdout is not None
        live.stdout.close()

    assert fold_dead_processes(folder).processes == 1
    assert pid_files(folder, live.pid) == []
    ended = scrape(folder)
    assert ended[RETRIES] == 6 and ended[REQUESTS] == 2 and ended[OPENED] == 1004
    assert abs(ended[REQUEST_TIME] - 0.12) < 1e-9
    assert SUBSCRIBERS not in ended  # its open streams closed with it


def test_a_file_a_killed_process_left_empty_goes_and_scrapes_work_again(folder: Path) -> None:
    pid = count_in_process(folder, 1)
    (folder / f"counter_{pid + 1_000_000_000}.db").write_bytes(b"")  # no such pid
    with pytest.raises(Exception):  # noqa: B017 - the control: prometheus_client cannot read it
        scrape(folder, locked=False)
    fold_dead_processes(folder)
    assert scrape(folder)[RETRIES] == 1


def test_a_scrape_in_progress_holds_the_fold_back(folder: Path) -> None:
    """Without the lock a scrape that listed the files before a fold reads a file the fold
    has removed (the control); with it, the fold waits for the scrape."""
    count_in_process(folder, 1)
    listed = [str(p) for p in folder.glob("*.db")]
    fold_dead_processes(folder)
    with pytest.raises(FileNotFoundError):
        multiprocess.MultiProcessCollector.merge(listed)

    count_in_process(folder, 1)
    finished = threading.Event()

    def fold_then_tell() -> None:
        fold_dead_processes(folder)
        finished.set()

    fold = threading.Thread(target=fold_then_tell)
    with folder_lock(folder, exclusive=False):
        fold.start()
        fold.join(timeout=0.5)
        assert not finished.is_set()
    fold.join(timeout=30)
    assert finished.is_set()
    assert scrape(folder)[RETRIES] == 2


def test_web_start_scrapes_and_the_periodic_job_fold(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    first = count_in_process(folder, 1)
    metrics.clean_metrics_dir()  # `crewcall web` on start, and every /metrics scrape
    assert pid_files(folder, first) == []
    second = count_in_process(folder, 2)
    assert tasks.fold_metrics_files(timestamp=0) >= 1
    assert pid_files(folder, second) == []
    assert scrape(folder)[RETRIES] == 3
