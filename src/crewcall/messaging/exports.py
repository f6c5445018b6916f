"""What `crewcall export` takes from messaging (core/exports.py): every table, every column."""

from __future__ import annotations

from crewcall.core.exports import ExportPart

EXPORT = ExportPart(app_label="messaging")
