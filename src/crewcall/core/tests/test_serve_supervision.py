"""`crewcall serve` heals what dies: web processes, the worker and the embedded PostgreSQL.

Real processes only: each test copies a migrated data folder (made once and kept between
runs under a digest of what it depends on: serving.migrated_template), runs serve on a
free port of 127.0.0.1, kills one of its processes with SIGKILL and watches what serve
does, with bounded waits. Figures are printed (`-s` shows them).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from crewcall.core.embedded import pid_of_server
from crewcall.core.supervisor import Backoff, ChildSpec, Supervisor, answers
from crewcall.core.tests.serving import (
    START_S,
    Probe,
    Serve,
    migrated_template,
    scrape,
    scratch_data_dir,
    serving,
    token_for_admin,
)
from crewcall.ops.canary.client import Server
from crewcall.testing.waiting import free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.own_server]

RESTART_S = 60.0  # serve notices within its poll, waits its first delay, Django starts


@pytest.fixture(scope="module")
def template(request: pytest.FixtureRequest) -> Path:
    return migrated_template(
        settings.DATA_DIR / "serve-template", rebuild=request.config.getoption("create_db")
    )


@pytest.fixture
def data_dir(template: Path) -> Iterator[Path]:
    with scratch_data_dir(template) as folder:
        yield folder


def metric(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def lost_with_the_process(failed: list[str]) -> bool:
    """What a SIGKILL may cost the probe: the one request the killed process had already
    taken (the probe sends one at a time) dies with it, its connection closed unanswered.
    Nothing else fails: new connections wait in serve's socket for a live process."""
    return len(failed) <= 1 and all("RemoteDisconnected" in f or "ConnectionReset" in f for f in failed)


def replaced(serve: Serve, command: str, gone: int, count: int) -> set[int]:
    """Wait until `count` processes run `command`, none of them `gone`, all serving."""

    def done() -> bool:
        pids = serve.pids(command)
        return (
            len(pids) == count
            and gone not in pids
            and all(command != "web" or serve.serving(pid) for pid in pids)
        )

    wait_until(done, timeout=RESTART_S, what=f"{command} to be started again")
    return serve.pids(command)


def test_a_killed_web_process_or_worker_is_started_again_its_siblings_untouched(data_dir: Path) -> None:
    port = free_port()
    with serving(data_dir, port, "serve") as serve:
        serve.wait_healthy(START_S)
        webs, workers = serve.pids("web"), serve.pids("worker")
        assert len(webs) == 2 and len(workers) == 1, serve.children()
        worker = next(iter(workers))

        victim, survivor = sorted(webs)
        with Probe("127.0.0.1", port) as probe:
            time.sleep(0.5)
            killed_at = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            new_webs = replaced(serve, "web", victim, 2)
            back_s = time.monotonic() - killed_at
            time.sleep(0.5)
        print(
            f"web process killed: started again and serving in {back_s:.1f} s; meanwhile "
            f"{probe.answered} answered, {probe.refused} refused, {len(probe.failed)} failed, "
            f"slowest {probe.slowest_s * 1000:.0f} ms"
        )
        assert survivor in new_webs, "the other web process was left alone"
        assert serve.pids("worker") == {worker}, "the worker was left alone"
        assert probe.refused == 0 and lost_with_the_process(probe.failed), (probe.refused, probe.failed)
        assert probe.answered > 0
        assert f"(pid {victim}) killed by SIGKILL" in serve.output()

        os.kill(worker, signal.SIGKILL)
        new_workers = replaced(serve, "worker", worker, 1)
        assert serve.pids("web") == new_webs, "the web processes were left alone"
        assert f"worker (pid {worker}) killed by SIGKILL" in serve.output()

        text = scrape(f"{serve.url}/metrics")
        assert metric(text, "crewcall_child_restarts_total", child="web") == 1.0, text
        assert metric(text, "crewcall_child_restarts_total", child="worker") == 1.0, text

        code, _ = serve.terminate()
        assert code == 0, serve.output()
        assert not (new_webs | new_workers) & set(serve.children()), "a child outlived serve"


def test_with_one_web_process_requests_wait_for_its_restart_instead(data_dir: Path) -> None:
    """The control: the socket is serve's, so nothing is refused even with one process, but
    requests made while it is dead wait for its successor (at least the first delay)."""
    port = free_port()
    with serving(data_dir, port, "serve", "--web-processes", "1") as serve:
        serve.wait_healthy(START_S)
        (web,) = serve.pids("web")
        with Probe("127.0.0.1", port) as probe:
            time.sleep(0.5)
            os.kill(web, signal.SIGKILL)
            replaced(serve, "web", web, 1)
            time.sleep(0.5)
        print(
            f"one web process killed: {probe.answered} answered, {probe.refused} refused, "
            f"{len(probe.failed)} failed, slowest {probe.slowest_s:.1f} s"
        )
        assert probe.refused == 0 and lost_with_the_process(probe.failed), (probe.refused, probe.failed)
        assert probe.slowest_s >= Backoff().first_s, "no request waited for the restart"


def _event_body(number: int) -> dict[str, object]:
    return {
        "title": f"Before the crash {number}",
        "location": "test",
        "event_date": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat(),
        "start_time": "10:00",
        "hourly_rate": "15.00",
        "employees_needed": 1,
    }


def test_a_killed_postmaster_is_started_again_and_no_committed_write_is_lost(data_dir: Path) -> None:
    port = free_port()
    with serving(data_dir, port, "serve") as serve:
        serve.wait_healthy(START_S)
        api = Server(url=serve.url, token=token_for_admin(data_dir), timeout=30)
        created = []
        for number in range(20):
            answer = api.call("POST", "/api/v1/events", _event_body(number), Idempotency_Key=uuid.uuid4().hex)
            assert answer.status == 201, answer.body
            created.append(answer.json()["id"])
        webs, workers = serve.pids("web"), serve.pids("worker")
        postmaster = pid_of_server(data_dir)
        assert postmaster is not None

        killed_at = time.monotonic()
        os.kill(postmaster, signal.SIGKILL)
        wait_until(
            lambda: pid_of_server(data_dir) not in (None, postmaster), timeout=20, what="a new postmaster"
        )
        postgres_s = time.monotonic() - killed_at
        wait_until(lambda: answers(f"{serve.url}/readyz"), timeout=20, what="/readyz to be ready")
        ready_s = time.monotonic() - killed_at
        print(
            f"postmaster killed: PostgreSQL back in {postgres_s:.1f} s, /readyz ready {ready_s:.1f} s after the kill"
        )
        assert ready_s <= 20.0

        for event_id in created:
            answer = api.call("GET", f"/api/v1/events/{event_id}")
            assert answer.status == 200, (event_id, answer.status, answer.body[:300])
        text = scrape(f"{serve.url}/metrics")
        assert metric(text, "crewcall_database_restarts_total", reason="died") == 1.0, text
        assert "serve: PostgreSQL started again" in serve.output()

        # The children rode it out: a job deferred now is taken (by the same worker: one that
        # gave up would have been replaced, under another pid), rather than a fixed wait.
        job = api.call("POST", "/api/v1/ops/canary-jobs")
        assert job.status == 201, job.body
        job_path = f"/api/v1/ops/canary-jobs/{job.json()['id']}"
        wait_until(
            lambda: api.call("GET", job_path).json()["status"] == "succeeded",
            timeout=RESTART_S,
            what="a job deferred after the restart to be taken",
        )
        assert serve.pids("web") == webs, serve.output()[-3000:]
        assert serve.pids("worker") == workers, serve.output()[-3000:]

        code, _ = serve.terminate()
        assert code == 0, serve.output()
        assert pid_of_server(data_dir) is None, "serve left PostgreSQL running"


def test_the_supervisor_doubles_the_delay_up_to_its_cap_and_starts_over_after_a_healthy_run() -> None:
    """Real children that exit at once (`crewcall --version`), on a clock the test moves."""
    restarted = []
    backoff = Backoff(first_s=1.0, max_s=4.0, healthy_s=60.0)
    supervisor = Supervisor(backoff=backoff, on_restart=lambda child: restarted.append(child.restarts))
    child = supervisor.start(ChildSpec(name="quick", kind="quick", args=("--version",)))
    clock = child.started_at
    delays = []
    for _ in range(4):
        child.process.wait(timeout=START_S)
        clock += 0.1  # died 0.1 s after it started: not a healthy run
        supervisor.tend(clock)
        assert child.restart_at is not None
        delays.append(round(child.restart_at - clock, 3))
        supervisor.tend(child.restart_at - 0.01)
        assert child.restart_at is not None, "started again before its delay"
        clock = child.restart_at
        supervisor.tend(clock)
        assert child.restart_at is None and child.started_at == clock
    assert delays == [1.0, 2.0, 4.0, 4.0]
    assert restarted == [1, 2, 3, 4]

    child.process.wait(timeout=START_S)
    clock += backoff.healthy_s  # ran long enough: the next delay starts over
    supervisor.tend(clock)
    assert child.restart_at == clock + 1.0

    supervisor.stop_all(timeout=START_S)
    supervisor.tend(clock + 10)
    assert child.restarts == 4, "a child stopped by the supervisor is not started again"


def test_web_processes_must_be_at_least_one(tmp_path: Path) -> None:
    env = {**os.environ, "CREWCALL_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "crewcall", "serve", "--web-processes", "0"],
        env=env, capture_output=True, text=True, timeout=START_S, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "--web-processes must be at least 1" in done.stderr
