"""Acceptance: SIGKILL the real worker at random moments; every message goes out once.

150 invitation messages are queued, then two `crewcall worker --queue messages`
subprocesses send them through the real Twilio SDK to the fake server (which takes a
few ms per request, so kills land mid-request). A random worker is killed with SIGKILL
at least 10 times, each time shortly after the fake has seen new traffic, and
restarted. Then the workers finish; the safety net (`requeue_stuck_messages`, every
minute in production, every second here) re-defers the claims the killed workers left
behind, and the live workers reconcile them with the provider.

Asserted: every message is sent, and the fake received exactly one POST per message;
no job is left `doing` (the kills leave the victims' jobs `doing`; the live workers'
stalled-job recovery retries them once the victims' heartbeats are stale).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from crewcall.messaging import tasks
from crewcall.messaging.integrity import ATTEMPTS_FOLLOW_CLAIMS
from crewcall.messaging.models import OutboundMessage
from crewcall.messaging.outbox import message_queue
from crewcall.messaging.tests.conftest import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_FROM
from crewcall.messaging.tests.fake_twilio import FakeTwilio
from crewcall.ops.integrity.registry import run_checks

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The kill phase sends a few per kill (about 40 in all, at most about 110: up to six
# requests awaited plus what goes out before the kill lands); the rest keeps two workers
# claiming concurrently until the end. More messages would only lengthen that last phase.
MESSAGES = 150
KILLS = 12
BUDGET_S = 120.0
GRACE_S = 2.0
TIMEOUT_S = 0.5
REPO = Path(__file__).resolve().parents[4]


def worker_env(fake: FakeTwilio) -> dict[str, str]:
    """The worker on this test's database and the fake Twilio, with short timings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "CREWCALL_"))}
    env.pop("DATABASE_URL", None)
    db = connection.settings_dict
    if os.environ.get("DATABASE_URL"):
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        env["DATABASE_URL"] = (
            f"postgresql://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        env["CREWCALL_DATABASE_NAME"] = str(db["NAME"])
    env.update(
        CREWCALL_DATA_DIR=str(django_settings.DATA_DIR),
        DJANGO_SETTINGS_MODULE="crewcall.testing.settings",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_WHATSAPP_FROM=WHATSAPP_FROM,
        CREWCALL_TWILIO_API_BASE=fake.url,
        CREWCALL_MESSAGE_RECONCILE_GRACE_S=str(GRACE_S),
        CREWCALL_MESSAGE_SEND_TIMEOUT_S=str(TIMEOUT_S),
        CREWCALL_MESSAGE_RETRY_BASE_S="0.05",
        CREWCALL_MESSAGE_RETRY_CAP_S="0.5",
        CREWCALL_LOG_LEVEL="WARNING",
        CREWCALL_WORKER_STALLED_S="3",  # heartbeats every second: killed workers' jobs recovered soon
    )
    return env


class Workers:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started = 0
        self.alive: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        self.started += 1
        with (self.logs / f"worker-{self.started}.log").open("wb") as out:
            self.alive.append(
                subprocess.Popen(
                    [sys.executable, "-m", "crewcall", "worker", "--queue", "messages"],
                    cwd=REPO,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )

    def kill(self, victim: subprocess.Popen[bytes]) -> None:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        self.alive.remove(victim)

    def stop_all(self) -> None:
        for process in self.alive:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in self.alive:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.alive.clear()

    def output(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs.glob("*.log")
        )


@pytest.fixture
def workers(fake: FakeTwilio, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(worker_env(fake), tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, latency=0.01).start()
    try:
        yield server
    finally:
        server.stop()


def doing() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")
        return int(cur.fetchone()[0])


def unfinished() -> int:
    return OutboundMessage.objects.filter(status__in=["queued", "sending"]).count()


def test_killed_workers_neither_lose_nor_double_a_message(
    agency: Any, settings: Any, fake: FakeTwilio, workers: Workers
) -> None:
    settings.MESSAGING_PROVIDER = "twilio"
    settings.MESSAGE_RECONCILE_GRACE_S = GRACE_S
    settings.MESSAGE_SEND_TIMEOUT_S = TIMEOUT_S
    event = agency.event(employees_needed=MESSAGES, employees_to_ask=MESSAGES)
    staff = [agency.employee(f"Crew {i}") for i in range(MESSAGES)]
    with transaction.atomic():
        for person in staff:
            message_queue(
                employee=person, kind="invitation", intent_key=f"invite:{event.pk}:{person.pk}",
                body=f"Hi {person.name}, are you in for {event.title}?", event_id=event.pk,
            )  # fmt: skip

    seed = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    began = time.monotonic()
    try:
        # One worker while killing, so the traffic the fake sees is the victim's.
        workers.start()
        kills = left_doing = 0
        while kills < KILLS:
            seen = len(fake.requests)
            assert fake.wait_for_requests(seen + rng.randint(1, 6), timeout=30), "no worker traffic"
            # Against 10 ms per request, the kill lands during a POST, just after it (before
            # the record), or between a claim and the next POST.
            time.sleep(rng.uniform(0, 0.015) if rng.random() < 0.6 else rng.uniform(0.015, 0.06))
            workers.kill(workers.alive[0])
            kills += 1
            left_doing += doing()  # the victim's job: nothing of its own will ever finish it
            workers.start()
        workers.start()  # two for the rest: concurrent claims on one queue
        killed_at = time.monotonic()

        # Let them finish. Claims of killed workers have no job any more; the safety net
        # re-defers them once they are older than the grace period.
        deadline = began + BUDGET_S
        while unfinished():
            assert time.monotonic() < deadline, f"unfinished after {BUDGET_S} s (seed {seed})"
            tasks.requeue_stuck_messages(stale_after=timedelta(seconds=1))
            time.sleep(0.5)
        # The live workers' stalled-job recovery retries the killed workers' jobs.
        while doing():
            assert time.monotonic() < deadline, f"{doing()} jobs still doing after {BUDGET_S} s (seed {seed})"
            time.sleep(0.5)
        workers.stop_all()
    except BaseException:
        print(workers.output())
        raise
    finished = time.monotonic()

    # Nothing left for a final in-process reconciliation (asserted rather than done).
    assert unfinished() == 0
    assert doing() == 0
    with connection.cursor() as cur:  # send jobs have no retry strategy: only the recovery retries
        cur.execute("SELECT count(*) FROM procrastinate_events WHERE type = 'deferred_for_retry'")
        recovered = cur.fetchone()[0]
    assert left_doing > 0 and recovered > 0  # the kills did leave jobs `doing`, and they were retried
    rows = list(OutboundMessage.objects.all())
    assert len(rows) == MESSAGES
    assert {m.status for m in rows} <= {"sent", "delivered", "read"}
    posts = fake.posts_by_to()
    assert len(fake.posts()) == MESSAGES, f"{len(fake.posts())} POSTs for {MESSAGES} messages (seed {seed})"
    assert set(posts.values()) == {1}
    assert set(posts) == {f"whatsapp:{m.to_number}" for m in rows}
    sids = {m["to"]: m["sid"] for m in fake.messages}
    assert all(m.provider_sid == sids[f"whatsapp:{m.to_number}"] for m in rows)
    # Attempts stayed consistent across every take-over (docs/messaging.md, "Attempts").
    assert min(m.attempts for m in rows) >= 1
    [attempts_check] = run_checks([ATTEMPTS_FOLLOW_CLAIMS])
    assert attempts_check.total == 0, attempts_check.findings[:5]

    stories = [_story(m) for m in rows]
    print(
        f"\ncrash test (seed {seed}): {kills} SIGKILLs, {workers.started} worker starts, "
        f"{len(fake.posts())} POSTs for {MESSAGES} messages, "
        f"{len(fake.requests) - len(fake.posts())} reconciliation GETs; "
        f"{sum(t for t, _ in stories)} claims of killed workers taken over, "
        f"{sum(f for _, f in stories)} of them found already sent (recorded without a POST); "
        f"{sum(m.attempts for m in rows)} attempts counted; "
        f"{left_doing} jobs doing right after a kill (summed over kills), {recovered} retried by the "
        f"stalled-job recovery, 0 left doing; "
        f"kill phase {killed_at - began:.1f} s, total {finished - began:.1f} s"
    )


def _story(message: OutboundMessage) -> tuple[int, int]:
    """From the message's history: (claims taken over, of which the provider had it)."""
    taken_over = found = 0
    pending = False
    previous = None
    for event in message.history.order_by("pgh_id"):  # type: ignore[attr-defined]
        if previous is not None and previous.status == event.status == "sending":
            if event.claimed_at != previous.claimed_at and event.attempts == previous.attempts:
                taken_over += 1  # a new claim without a new attempt: a take-over
                pending = True
            elif event.attempts != previous.attempts:
                pending = False  # not found: sent again under a new attempt
        elif event.status == "sent" and pending:
            found += 1
            pending = False
        previous = event
    return taken_over, found
