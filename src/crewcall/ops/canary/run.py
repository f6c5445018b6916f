"""The canary audit: one pass of writes and reads through a running instance's public
doors, checking each persistence guarantee it can see from outside (docs/operations.md).

Steps, in order (a failed step stops the run; the sandbox event is removed in any case):
api (the token is accepted) → stream (subscribed from now) → create (draft event, with an
Idempotency-Key, and its replay) → read back → update (If-Match; a stale If-Match is
refused) → work area → changes (every write arrives on the stream) → history (every write
is in the audit trail with source "api" and our request id) → worker (a job deferred
through the API is run) → clean up (the draft is deleted, nothing of it can be read, the
delete arrives on the stream).
"""

from __future__ import annotations

import datetime as dt
import queue
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from typing import Any

from crewcall.ops.canary.client import Answer, CanaryError, Server, StreamEvent, StreamReader

SANDBOX_TITLE = "Canary audit"


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class Report:
    url: str
    steps: list[Step] = field(default_factory=list)
    event_id: int | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None

    @property
    def failed(self) -> Step | None:
        return next((step for step in self.steps if not step.ok), None)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ok": self.ok,
            "event_id": self.event_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "steps": [asdict(s) for s in self.steps],
        }


def _expect(answer: Answer, status: int, what: str) -> Any:
    if answer.status != status:
        detail = answer.body[:300].decode(errors="replace")
        raise CanaryError(f"{what}: expected HTTP {status}, got {answer.status}: {detail}")
    return answer.json() if answer.body else None


class Audit:
    def __init__(self, server: Server, *, wait_s: float, in_worker: bool = False) -> None:
        self.server = server
        self.wait_s = wait_s
        self.in_worker = in_worker
        self.report = Report(url=server.url)
        self.stream: StreamReader | None = None
        self.seen: list[StreamEvent] = []
        self.event: dict[str, Any] | None = None
        self.etag = ""
        self.area: dict[str, Any] | None = None

    @contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        notes: list[str] = []
        started = time.monotonic()
        try:
            yield notes
        except CanaryError as exc:
            self.report.steps.append(Step(name, False, str(exc), time.monotonic() - started))
            raise
        self.report.steps.append(Step(name, True, "; ".join(notes) or "ok", time.monotonic() - started))

    def _event(self) -> dict[str, Any]:
        if self.event is None:
            raise CanaryError("no sandbox event (its creation failed)")
        return self.event

    def _stream(self) -> StreamReader:
        if self.stream is None:
            raise CanaryError("not subscribed to the change stream")
        return self.stream

    def _passed(self, name: str) -> bool:
        return any(step.name == name and step.ok for step in self.report.steps)

    # The steps -------------------------------------------------------------------------

    def check_api(self) -> None:
        with self.step("api") as notes:
            answer = self.server.call("GET", "/api/v1/events?limit=1")
            if answer.status in (401, 403):
                raise CanaryError(f"the token was refused ({answer.status}); it needs the dispatcher role")
            _expect(answer, 200, "GET /api/v1/events")
            notes.append(f"{self.server.url} answers")

    def open_stream(self) -> None:
        with self.step("stream") as notes:
            reader = StreamReader(self.server)
            try:
                reader.open()
            except CanaryError:
                reader.close()
                raise
            self.stream = reader
            notes.append("subscribed to /api/v1/changes")

    def create(self) -> None:
        with self.step("create") as notes:
            body = {
                "title": f"{SANDBOX_TITLE} {uuid.uuid4().hex[:8]}",
                "location": "canary",
                "event_date": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=400)).isoformat(),
                "start_time": "10:00",
                "hourly_rate": "1.00",
                "employees_needed": 1,
                "description": "Written and removed by `crewcall audit`.",
            }
            key = "canary-" + uuid.uuid4().hex
            first = self.server.call("POST", "/api/v1/events", body, Idempotency_Key=key)
            self.event = _expect(first, 201, "POST /api/v1/events")
            self.report.event_id = int(self.event["id"])
            self.etag = first.header("ETag")
            again = self.server.call("POST", "/api/v1/events", body, Idempotency_Key=key)
            if again.status != 201 or again.body != first.body or not again.header("Idempotent-Replayed"):
                raise CanaryError(
                    f"a retry with the same Idempotency-Key was not the first answer replayed "
                    f"(HTTP {again.status}, replayed header {again.header('Idempotent-Replayed')!r})"
                )
            notes.append(f"event {self.report.event_id}, retry replayed")

    def read_back(self) -> None:
        event = self._event()
        with self.step("read back") as notes:
            found = _expect(self.server.call("GET", f"/api/v1/events/{event['id']}"), 200, "GET the event")
            for name in ("title", "event_date", "hourly_rate", "status", "version"):
                if found.get(name) != event.get(name):
                    raise CanaryError(f"read back {name} = {found.get(name)!r}, wrote {event.get(name)!r}")
            notes.append("fields equal")

    def update(self) -> None:
        event = self._event()
        with self.step("update") as notes:
            path = f"/api/v1/events/{event['id']}"
            answer = self.server.call("PATCH", path, {"location": "canary, updated"}, If_Match=self.etag)
            updated = _expect(answer, 200, "PATCH with If-Match")
            if updated["version"] != event["version"] + 1 or updated["location"] != "canary, updated":
                raise CanaryError(f"the update did not land: {updated}")
            stale = self.server.call("PATCH", path, {"location": "lost"}, If_Match=self.etag)
            _expect(stale, 412, "PATCH with a stale If-Match")
            self.event, self.etag = updated, answer.header("ETag")
            notes.append(f"version {updated['version']}, stale write refused")

    def add_work_area(self) -> None:
        event = self._event()
        with self.step("work area") as notes:
            answer = self.server.call(
                "POST", f"/api/v1/events/{event['id']}/work-areas", {"name": "Canary", "max_capacity": 1}
            )
            self.area = _expect(answer, 201, "POST a work area")
            notes.append(f"work area {self.area['id']}")

    def _wait_for(self, table: str, op: str, row_id: int) -> None:
        """Until the change (table, op, row) has come on the stream, at most `wait_s`."""

        def wanted(event: StreamEvent) -> bool:
            data = event.data
            return data.get("table") == table and data.get("op") == op and data.get("id") == row_id

        stream = self._stream()
        if any(wanted(event) for event in self.seen):
            return
        deadline = time.monotonic() + self.wait_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = stream.events.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(item, CanaryError):
                raise item
            self.seen.append(item)
            if item.kind == "reset":
                raise CanaryError("the stream answered `reset` to a subscription from now")
            if wanted(item):
                return
        raise CanaryError(
            f"the {op} of {table} {row_id} did not arrive on the change stream within {self.wait_s:g} s "
            "(is the web process's change listener running?)"
        )

    def changes_arrived(self) -> None:
        if self.area is None:
            raise CanaryError("no sandbox work area")
        event_id, area_id = self._event()["id"], self.area["id"]
        with self.step("changes") as notes:
            for table, op, row_id in (
                ("events_event", "I", event_id),
                ("events_event", "U", event_id),
                ("events_workarea", "I", area_id),
            ):
                self._wait_for(table, op, row_id)
            notes.append("insert, update and work area seen")

    def history(self) -> None:
        event_id = self._event()["id"]
        with self.step("history") as notes:
            page = _expect(self.server.call("GET", f"/api/v1/history/event/{event_id}"), 200, "GET history")
            labels = [entry["label"] for entry in page["items"]]
            if labels[:2] != ["insert", "update"]:
                raise CanaryError(f"history of the event is {labels}, expected insert then update")
            ours = set(self.server.request_ids)
            for entry in page["items"][:2]:
                context = entry["context"]
                if context.get("source") != "api" or context.get("request_id") not in ours:
                    raise CanaryError(
                        f"history entry {entry['id']} has context {context}, expected ours from the api"
                    )
            notes.append("insert and update recorded with our request ids")

    def worker(self) -> None:
        with self.step("worker") as notes:
            if self.in_worker:
                # Run as a job, the audit is its own proof that a worker takes jobs (and
                # with one worker slot, a second job would wait for this one to end).
                notes.append("this audit ran as a job of a worker")
                return
            job = _expect(self.server.call("POST", "/api/v1/ops/canary-jobs"), 201, "POST a canary job")
            deadline = time.monotonic() + self.wait_s
            status = job["status"]
            while status != "succeeded" and time.monotonic() < deadline:
                time.sleep(0.2)
                status = _expect(
                    self.server.call("GET", f"/api/v1/ops/canary-jobs/{job['id']}"), 200, "GET job"
                )["status"]
            if status != "succeeded":
                raise CanaryError(
                    f"job {job['id']} is still {status!r} after {self.wait_s:g} s "
                    "(is `crewcall worker` running?)"
                )
            notes.append(f"job {job['id']} ran")

    def clean_up(self) -> None:
        """Delete the sandbox draft (its work area goes with it) and check nothing is left."""
        if self.event is None:
            return
        event_id = self.event["id"]
        with self.step("clean up") as notes:
            path = f"/api/v1/events/{event_id}"
            current = self.server.call("GET", path)
            if current.status == 200:
                _expect(
                    self.server.call("DELETE", path, If_Match=current.header("ETag")), 204, "DELETE the draft"
                )
            _expect(self.server.call("GET", path), 404, "GET the deleted event")
            if self.area is not None:
                _expect(
                    self.server.call("GET", f"/api/v1/work-areas/{self.area['id']}"), 404, "GET its work area"
                )
            if self.stream is not None and self._passed("changes"):
                self._wait_for("events_event", "D", event_id)
            notes.append(f"event {event_id} and its work area are gone")

    def run(self) -> Report:
        try:
            for step in (
                self.check_api, self.open_stream, self.create, self.read_back, self.update,
                self.add_work_area, self.changes_arrived, self.history, self.worker,
            ):  # fmt: skip
                step()
        except CanaryError:
            pass
        finally:
            with suppress(CanaryError):
                self.clean_up()
            if self.stream is not None:
                self.stream.close()
            self.report.finished_at = dt.datetime.now(dt.UTC)
        return self.report


def run_audit(
    *, url: str, token: str, wait_s: float = 10.0, timeout_s: float = 10.0, in_worker: bool = False
) -> Report:
    server = Server(url=url.rstrip("/"), token=token, timeout=timeout_s)
    return Audit(server, wait_s=wait_s, in_worker=in_worker).run()
