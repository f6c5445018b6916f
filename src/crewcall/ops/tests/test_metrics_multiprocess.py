"""Several processes count into one metrics folder (<data folder>/metrics) and a scrape adds
them up; `crewcall web` clears the files of dead processes, `crewcall serve` all but its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families

COUNT = """
import os, sys
import django
django.setup()
from crewcall.core import telemetry
for _ in range(int(sys.argv[1])):
    telemetry.retry_ended("test.multi", "recovered")
telemetry.REQUEST_LATENCY.labels(route="/x", method="GET", status="2xx").observe(0.02)
telemetry.CHANGE_SUBSCRIBERS.inc(int(sys.argv[1]))
print(os.environ["PROMETHEUS_MULTIPROC_DIR"])
"""


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(CREWCALL_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="crewcall.testing.settings")
    return env


def _run(data: Path, count: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", COUNT, str(count)],
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _scrape(folder: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_two_processes_counts_add_up_in_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _run(data, 3)
    second = _run(data, 4)
    folder = data / "metrics"
    assert first == second == str(folder)
    assert len(list(folder.glob("counter_*.db"))) == 2  # one file per process

    samples = _scrape(folder)
    labels = (("operation", "test.multi"), ("outcome", "recovered"))
    assert samples[("crewcall_retries_total", labels)] == 7
    route = (("method", "GET"), ("route", "/x"), ("status", "2xx"))
    assert samples[("crewcall_http_request_duration_seconds_count", route)] == 2
    assert abs(samples[("crewcall_http_request_duration_seconds_sum", route)] - 0.04) < 1e-9


def test_web_start_drops_dead_files_and_serve_start_all_but_its_own(tmp_path: Path, monkeypatch) -> None:
    from crewcall.ops import metrics

    folder = tmp_path / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    folder.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    (folder / f"counter_{dead_pid}.db").write_bytes(b"")
    (folder / f"gauge_livesum_{dead_pid}.db").write_bytes(b"")
    (folder / f"counter_{os.getpid()}.db").write_bytes(b"")
    metrics.clean_metrics_dir()
    assert sorted(p.name for p in folder.iterdir()) == [f"counter_{os.getpid()}.db"]
    (folder / f"counter_{dead_pid}.db").write_bytes(b"")
    metrics.reset_metrics_dir()
    # serve keeps its own (open) files: they hold its restart counters.
    assert sorted(p.name for p in folder.iterdir()) == [f"counter_{os.getpid()}.db"]
