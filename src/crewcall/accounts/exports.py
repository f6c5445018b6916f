"""What `crewcall export` takes from accounts (core/exports.py): every table, without
password or token hashes."""

from __future__ import annotations

from crewcall.core.exports import ExportPart

EXPORT = ExportPart(
    app_label="accounts",
    omitted_columns={
        "accounts_user": frozenset({"password"}),
        "accounts_apitoken": frozenset({"secret_hash"}),
    },
)
