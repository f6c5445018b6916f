"""`crewcall export`: one JSON document of every domain table, a consistent snapshot,
without password or token hashes."""

from __future__ import annotations

import json
import threading
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder

from crewcall.accounts.models import ApiToken, User
from crewcall.accounts.services import token_create
from crewcall.conftest import Agency
from crewcall.core import exports
from crewcall.events.models import Event
from crewcall.people.models import Employee

pytestmark = pytest.mark.django_db(transaction=True)  # the export opens its own transaction


def build(agency: Agency, alice: User) -> None:
    staff = [agency.employee(name=f"Kim {i}") for i in range(3)]
    gala = agency.event("Gala")
    agency.event("Brunch", status="draft")
    agency.area(gala, "Bar")
    agency.accepted(gala, staff[0])
    token_create(actor=alice, user_id=alice.pk, name="bi")


def test_every_table_is_there_with_its_rows_and_no_secrets(agency: Agency, alice: User) -> None:
    build(agency, alice)
    out = StringIO()
    counts = exports.export_all(out)
    text = out.getvalue()
    doc = json.loads(text)

    assert (doc["format"], doc["version"]) == ("crewcall-export", 1)
    assert doc["exported_at"].endswith("+00:00")
    assert {"accounts", "people", "events", "staffing", "messaging"} <= set(doc["schema"])
    latest = max(
        name
        for app, name in MigrationRecorder.Migration.objects.values_list("app", "name")
        if app == "accounts"
    )
    assert doc["schema"]["accounts"] == latest
    models = {m._meta.db_table: m for m in exports.exported_models()}
    assert set(doc["tables"]) == set(models) == set(counts)
    assert {"accounts_user", "accounts_apitoken", "people_employee", "people_role", "events_event",
            "events_workarea", "staffing_invitation", "messaging_outboundmessage"} <= set(models)  # fmt: skip
    assert not any(name.endswith("history") for name in models)
    for table, model in models.items():
        rows = doc["tables"][table]
        assert len(rows) == counts[table] == model._base_manager.count(), table
        ids = [row["id"] for row in rows]
        assert ids == sorted(ids), table
    assert counts["people_employee"] == 3 and counts["events_event"] == 2
    assert counts["staffing_invitation"] == 1 and counts["accounts_apitoken"] == 1

    for user in doc["tables"]["accounts_user"]:
        assert "password" not in user
    for token in doc["tables"]["accounts_apitoken"]:
        assert "secret_hash" not in token and token["prefix"].startswith("cc_")
    for secret in [*User.objects.values_list("password", flat=True),
                   *ApiToken.objects.values_list("secret_hash", flat=True)]:  # fmt: skip
        assert secret not in text
    assert "pbkdf2" not in text

    gala = next(e for e in doc["tables"]["events_event"] if e["title"] == "Gala")
    stored = Event.objects.get(pk=gala["id"])
    assert stored.event_date is not None
    assert gala["hourly_rate"] == "15.50" and gala["event_date"] == stored.event_date.isoformat()
    assert gala["start_time"] == "18:00:00" and gala["created_by_id"] == stored.created_by_id


def test_the_export_is_one_snapshot_while_others_write(
    agency: Agency, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(agency, alice)
    write_table = exports._write_table
    done: list[Any] = []

    def meanwhile() -> None:
        try:
            agency.employee(name="Late Lee")
            Employee.objects.filter(name="Kim 0").update(notes="changed meanwhile")
            done.append(True)
        finally:
            connections.close_all()

    def write_then_interfere(out: Any, model: Any) -> int:
        count = write_table(out, model)
        if model._meta.db_table == "accounts_user":  # before people are read
            writer = threading.Thread(target=meanwhile)
            writer.start()
            writer.join(timeout=30)
        return count

    monkeypatch.setattr(exports, "_write_table", write_then_interfere)
    out = StringIO()
    counts = exports.export_all(out)
    assert done == [True]
    assert Employee.objects.count() == 4  # committed, yet not in the export
    employees = json.loads(out.getvalue())["tables"]["people_employee"]
    assert counts["people_employee"] == len(employees) == 3
    assert {e["notes"] for e in employees} == {""}


def test_the_command_writes_stdout_or_a_file(agency: Agency, alice: User, tmp_path: Path) -> None:
    build(agency, alice)
    out, err = StringIO(), StringIO()
    call_command("export", stdout=out, stderr=err)
    doc = json.loads(out.getvalue())
    assert err.getvalue().startswith("Exported ") and err.getvalue().count("\n") == 1
    assert len(doc["tables"]["people_employee"]) == 3
    target = tmp_path / "crewcall.json"
    call_command("export", "--output", str(target), stdout=StringIO(), stderr=StringIO())
    from_file = json.loads(target.read_text(encoding="utf-8"))
    assert from_file["tables"] == doc["tables"]
    assert [p.name for p in tmp_path.iterdir()] == ["crewcall.json"]


def test_the_export_file_is_readable_by_its_owner_only(agency: Agency, alice: User, tmp_path: Path) -> None:
    build(agency, alice)
    target = tmp_path / "crewcall.json"
    call_command("export", "--output", str(target), stdout=StringIO(), stderr=StringIO())
    assert target.stat().st_mode & 0o777 == 0o600
    # An existing file readable by all is replaced by a new one of mode 600, and a partial
    # file left by a crash is no obstacle.
    target.write_text("{}")
    target.chmod(0o644)
    (tmp_path / ".crewcall.json.partial").write_text("left by a crash")
    call_command("export", "--output", str(target), stdout=StringIO(), stderr=StringIO())
    assert target.stat().st_mode & 0o777 == 0o600
    assert json.loads(target.read_text(encoding="utf-8"))["tables"]["people_employee"]
    assert [p.name for p in tmp_path.iterdir()] == ["crewcall.json"]
