"""`crewcall export`: every domain table as one JSON document, a consistent snapshot.

    {"format": "crewcall-export", "version": 1, "exported_at": "...",
     "schema": {"<app>": "<latest applied migration>", ...},
     "tables": {"<db_table>": [{"<column>": value, ...}, ...], ...}}

All of it is read in one REPEATABLE READ, READ ONLY transaction, so every table shows
the same moment even while people keep working (and nothing can be written by mistake).
Tables are streamed in primary-key order through a server-side cursor, one row per line,
so memory stays flat however large the data. Dates, times and decimals are strings (ISO
8601, exact digits); JSON columns stay JSON. Secrets never leave: no password hash, no
token hash. Audit history and operational tables (job queue, change feed, idempotency
keys) are not domain data and are left to `crewcall backup`.

Each app says what it contributes in its own `exports` module (`EXPORT`, an ExportPart):
its tables, less the columns that must not leave. Apps come in INSTALLED_APPS order.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from django.apps import apps
from django.db import connection, models, transaction
from pghistory.models import Event as HistoryEvent

from crewcall.core.app_modules import app_modules

FORMAT = "crewcall-export"
VERSION = 1
CHUNK_ROWS = 2000


@dataclass(frozen=True)
class ExportPart:
    """One app's part of the export: every stored table of the app (not views, not audit
    history), without the omitted columns (db_table -> column names): secrets."""

    app_label: str
    omitted_columns: Mapping[str, frozenset[str]] = field(default_factory=dict)


def export_parts() -> list[ExportPart]:
    return [module.EXPORT for module in app_modules(name="exports")]


def exported_models() -> list[type[models.Model]]:
    """The domain tables of every part: stored (not views), not audit history."""
    found = []
    for part in export_parts():
        for model in apps.get_app_config(part.app_label).get_models():
            meta = model._meta
            if not meta.managed or meta.proxy or issubclass(model, HistoryEvent):
                continue
            found.append(model)
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    raise TypeError(f"cannot export a {type(value).__name__}")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_plain, ensure_ascii=False, separators=(",", ":"))


def _columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    part = next(p for p in export_parts() if p.app_label == model._meta.app_label)
    omitted = part.omitted_columns.get(model._meta.db_table, frozenset())
    return [f for f in model._meta.concrete_fields if f.column not in omitted]


def _write_table(out: TextIO, model: type[models.Model]) -> int:
    fields = _columns(model)
    names = [f.column for f in fields]
    rows = (
        model._base_manager.order_by("pk")
        .values_list(*(f.attname for f in fields))
        .iterator(chunk_size=CHUNK_ROWS)
    )
    count = 0
    for row in rows:
        out.write("\n" if count == 0 else ",\n")
        out.write(_dumps(dict(zip(names, row, strict=True))))
        count += 1
    return count


def _schema() -> dict[str, str]:
    with connection.cursor() as cursor:
        # Migration names start with their number, so the greatest name is the latest.
        cursor.execute("SELECT app, max(name) FROM django_migrations GROUP BY app ORDER BY app")
        return dict(cursor.fetchall())


def export_all(out: TextIO) -> dict[str, int]:
    """Write the export to `out`; returns the number of rows of each table."""
    counts: dict[str, int] = {}
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            # Must be the transaction's first statement: the snapshot is taken by the next one.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT now()")
            (exported_at,) = cursor.fetchone()
        head = {"format": FORMAT, "version": VERSION, "exported_at": exported_at, "schema": _schema()}
        out.write(_dumps(head)[:-1] + ',"tables":{')
        for index, model in enumerate(exported_models()):
            table = model._meta.db_table
            out.write(("" if index == 0 else ",\n") + _dumps(table) + ":[")
            counts[table] = _write_table(out, model)
            out.write("\n]" if counts[table] else "]")
        out.write("}}\n")
    return counts
