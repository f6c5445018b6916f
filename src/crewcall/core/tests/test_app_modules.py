"""Apps contribute their own integrity checks and export parts; the kernel finds them by
module name, in INSTALLED_APPS order, and names no app itself."""

from __future__ import annotations

from crewcall.core.app_modules import app_modules
from crewcall.core.exports import export_parts


def test_each_app_module_of_a_name_is_found_in_installed_apps_order() -> None:
    exports = [m.__name__ for m in app_modules(name="exports")]
    assert exports == [
        f"crewcall.{app}.exports" for app in ("accounts", "people", "events", "staffing", "messaging")
    ]
    integrity = [m.__name__ for m in app_modules(name="integrity")]
    assert "crewcall.core.integrity" not in integrity  # the mechanism, not a contribution
    assert {"crewcall.staffing.integrity", "crewcall.messaging.integrity", "crewcall.ops.integrity"} <= set(
        integrity
    )


def test_export_parts_keep_the_secrets_back() -> None:
    omitted = {t: c for part in export_parts() for t, c in part.omitted_columns.items()}
    assert omitted == {"accounts_user": {"password"}, "accounts_apitoken": {"secret_hash"}}
