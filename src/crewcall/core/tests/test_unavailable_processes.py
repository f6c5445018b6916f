"""503, never 500, while the database is gone: a real `crewcall web` process whose
DATABASE_URL points at a TCP proxy in front of the test database. The proxy is cut
(every open connection closed, the port refused) or cut by a tripwire the moment a chosen
statement goes out (the connection dies mid-request, that statement never arrives), then
restored. The times printed are what a client waited (run with -s to see them)."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from crewcall.conftest import Agency
from crewcall.core.models import IdempotencyKey
from crewcall.people.models import Employee
from crewcall.testing.api import token_for
from crewcall.testing.owner import empty_job_tables
from crewcall.testing.processes import Proxy, database_target
from crewcall.testing.sse import WebProcess
from crewcall.testing.webhooks import inbound_params, new_sid, signed_headers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

# Bounds on waiting, not timing assertions: a client's patience (the pool gives up after
# CREWCALL_DB_POOL_TIMEOUT_S, here POOL_TIMEOUT_S), and how long recovery may take at most.
POOL_TIMEOUT_S = 1.0
ANSWER_BOUND_S = 10.0
RECOVERY_BOUND_S = 30.0
NEW = {
    "name": "Ida",
    "phone_number": "+4915112349999",
    "primary_role": "waiter",
    "employment_type": "part_time",
}


class TripwireProxy(Proxy):
    """A Proxy that can also cut itself when a client sends bytes containing the armed text
    (that message is not forwarded)."""

    def __init__(self, target: tuple[str, int] | str) -> None:
        super().__init__(target)
        self._upstreams: set[socket.socket] = set()
        self._wire: bytes | None = None
        self.tripped = threading.Event()

    def arm(self, text: bytes) -> None:
        self.tripped.clear()
        self._wire = text

    def _upstream(self) -> socket.socket:
        upstream = super()._upstream()
        self._upstreams.add(upstream)
        return upstream

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:  # type: ignore[override]
        if sink not in self._upstreams:
            Proxy._pipe(source, sink)
            return
        tail = b""
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                wire = self._wire
                if wire is not None and wire in tail + data:
                    self._wire = None
                    self.cut()
                    self.tripped.set()
                    return
                tail = data[-64:]
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class Site:
    def __init__(self, port: int) -> None:
        self.port = port

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        began = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        names = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, names, content, time.monotonic() - began)


@dataclass
class World:
    site: Site
    proxy: TripwireProxy
    token: str
    cookie: str
    log: Path

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture
def world(tmp_path: Path, agency: Agency, alice: Any) -> Iterator[World]:
    proxy = TripwireProxy(database_target())
    proxy.restore()
    user = connection.settings_dict["USER"] or "postgres"
    url = f"postgresql://{user}@127.0.0.1:{proxy.port}/{connection.settings_dict['NAME']}"
    # A request waits this long for a pooled connection before its 503 (3 s by default):
    # every request made during the cut waits it out, so a short one keeps the test quick.
    extra = {"DATABASE_URL": url, "CREWCALL_DB_POOL_TIMEOUT_S": str(POOL_TIMEOUT_S)}
    if connection.settings_dict.get("PASSWORD"):
        extra["PGPASSWORD"] = str(connection.settings_dict["PASSWORD"])
    web = WebProcess(tmp_path / "web.log", **extra).start()
    client = Client()
    client.force_login(alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    try:
        yield World(Site(web.port), proxy, token_for(agency.actor), cookie, tmp_path / "web.log")
    finally:
        proxy.cut()
        web.stop()
        empty_job_tables()  # procrastinate's tables are not flushed between tests


def _webhook(path: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    signature = signed_headers(path, params)["HTTP_X_TWILIO_SIGNATURE"]
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    return urlencode(params).encode(), headers


def _requests(world: World, key: str) -> dict[str, tuple[str, str, bytes | None, dict[str, str]]]:
    """What a client of each kind sends: (method, path, body, headers)."""
    bearer = {"Authorization": f"Bearer {world.token}"}
    status_body, status_headers = _webhook(
        "/webhooks/twilio/status", {"MessageSid": new_sid(), "MessageStatus": "delivered"}
    )
    inbound_body, inbound_headers = _webhook(
        "/webhooks/twilio/whatsapp", inbound_params("+4915199990000", "ja")
    )
    post_headers = {**bearer, "Content-Type": "application/json", "Idempotency-Key": key}
    return {
        "api GET": ("GET", "/api/v1/employees", None, bearer),
        "api POST": ("POST", "/api/v1/employees", json.dumps(NEW).encode(), post_headers),
        "page GET": ("GET", "/", None, {"Cookie": world.cookie}),
        "page GET (de)": ("GET", "/events/", None, {"Cookie": world.cookie, "Accept-Language": "de"}),
        "admin GET": ("GET", "/admin/", None, {"Cookie": world.cookie}),
        "status webhook": ("POST", "/webhooks/twilio/status", status_body, status_headers),
        "inbound webhook": ("POST", "/webhooks/twilio/whatsapp", inbound_body, inbound_headers),
    }


def _unavailable_count(site: Site) -> float:
    text = site.call("GET", "/metrics").text
    return sum(float(v) for v in re.findall(r'crewcall_errors_total\{category="unavailable".*\} (\S+)', text))


def _is_unavailable_problem(answer: Answer) -> bool:
    return (
        answer.status == 503
        and answer.headers.get("content-type", "").startswith("application/problem+json")
        and answer.json()["code"] == "unavailable"
        and answer.headers.get("retry-after") == "5"
    )


def _is_unavailable_page(answer: Answer, heading: str = "Temporarily unavailable") -> bool:
    return (
        answer.status == 503
        and answer.headers.get("content-type", "").startswith("text/html")
        and f"<h1>{heading}</h1>" in answer.text
        and "crewcall/app.css" in answer.text
        and answer.headers.get("retry-after") == "5"
    )


def test_every_kind_of_request_gets_503_while_the_database_is_gone_and_200_once_it_is_back(
    world: World,
) -> None:
    site = world.site
    sent = _requests(world, key="during-the-cut")
    for name, (method, path, body, headers) in sent.items():
        if name != "api POST":  # that one is sent first during the cut
            answer = site.call(method, path, body, headers)
            assert answer.status in (200, 204), (name, answer.status, answer.text[:300])
    unavailable_before = _unavailable_count(site)

    world.proxy.cut()
    readyz = site.call("GET", "/readyz")  # the control: the database really is gone
    assert readyz.status == 503 and readyz.json()["unready"][0] == "database", readyz.text
    assert site.call("GET", "/healthz").status == 200
    answers = {
        name: site.call(method, path, body, headers) for name, (method, path, body, headers) in sent.items()
    }
    for name, answer in answers.items():
        print(f"{name}: {answer.status} in {answer.seconds:.2f} s")
    assert all(answer.seconds < ANSWER_BOUND_S for answer in answers.values())
    for name in ("api GET", "api POST", "status webhook", "inbound webhook"):
        assert _is_unavailable_problem(answers[name]), (name, answers[name].status, answers[name].text[:300])
    for name in ("page GET", "admin GET"):
        assert _is_unavailable_page(answers[name]), (name, answers[name].status, answers[name].text[:300])
    assert _is_unavailable_page(answers["page GET (de)"], "Vorübergehend nicht erreichbar")

    world.proxy.restore()
    restored = time.monotonic()
    method, path, body, headers = sent["api GET"]
    while (answer := site.call(method, path, body, headers)).status != 200:
        assert answer.status == 503, answer.text[:300]
        assert time.monotonic() - restored < RECOVERY_BOUND_S, "the API did not answer 200 again"
        time.sleep(0.1)
    print(f"first 200 {time.monotonic() - restored:.2f} s after the database came back")
    for name, (method, path, body, headers) in sent.items():
        answer = site.call(method, path, body, headers)
        assert answer.status in (200, 201, 204), (name, answer.status, answer.text[:300])
    # The POST refused during the cut ran once now; its key replays the answer.
    replay = site.call(*sent["api POST"])
    assert replay.status == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert Employee.objects.filter(name="Ida").count() == 1
    assert _unavailable_count(site) - unavailable_before >= 6  # /readyz has its own answer


def test_a_connection_that_dies_mid_request_gets_503(world: World) -> None:
    site = world.site
    for wire, name, (method, path, headers) in (
        (
            b'FROM "people_employee"',
            "api",
            ("GET", "/api/v1/employees", {"Authorization": f"Bearer {world.token}"}),
        ),
        (b'FROM "django_session"', "page", ("GET", "/", {"Cookie": world.cookie})),
    ):
        assert site.call(method, path, None, headers).status == 200
        world.proxy.arm(wire)
        answer = site.call(method, path, None, headers)
        assert world.proxy.tripped.wait(5), f"{name}: the tripwire never fired"
        print(f"{name} cut mid-request: {answer.status} in {answer.seconds:.2f} s")
        if name == "api":
            assert _is_unavailable_problem(answer), answer.text[:300]
        else:
            assert _is_unavailable_page(answer), answer.text[:300]
        world.proxy.restore()


def test_a_write_committed_before_its_answer_could_be_stored_is_not_applied_again(world: World) -> None:
    site = world.site
    headers = {
        "Authorization": f"Bearer {world.token}",
        "Content-Type": "application/json",
        "Idempotency-Key": "stored-then-cut",
    }
    world.proxy.arm(b"UPDATE core_idempotencykey SET state = 'done'")
    first = site.call("POST", "/api/v1/employees", json.dumps(NEW).encode(), headers)
    # (The answer can reach the client a moment before the proxy's thread has seen the
    # store: wait for the trip, briefly.)
    assert world.proxy.tripped.wait(5), (first.status, first.text[:300], world.log_tail())
    print(f"committed, answer not stored: {first.status} in {first.seconds:.2f} s")
    # The client gets the true answer: the employee exists.
    assert first.status == 201 and first.json()["name"] == "Ida", first.text[:300]
    # The control: the fault hit between the commit and the stored answer.
    kept = IdempotencyKey.objects.get(key="stored-then-cut")
    assert kept.state == "committed" and kept.body is None
    world.proxy.restore()
    deadline = time.monotonic() + RECOVERY_BOUND_S
    while (retry := site.call("POST", "/api/v1/employees", json.dumps(NEW).encode(), headers)).status == 503:
        assert time.monotonic() < deadline, "no answer but 503 after the database came back"
        time.sleep(0.1)
    assert retry.status == 409 and retry.json()["code"] == "idempotency_outcome_stored", retry.text[:300]
    assert Employee.objects.filter(name="Ida").count() == 1
