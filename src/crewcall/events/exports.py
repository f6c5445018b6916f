"""What `crewcall export` takes from events (core/exports.py): every table, every column."""

from __future__ import annotations

from crewcall.core.exports import ExportPart

EXPORT = ExportPart(app_label="events")
