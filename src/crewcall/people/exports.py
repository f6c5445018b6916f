"""What `crewcall export` takes from people (core/exports.py): every table, every column."""

from __future__ import annotations

from crewcall.core.exports import ExportPart

EXPORT = ExportPart(app_label="people")
