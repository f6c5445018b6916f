"""The layer contracts `make lint` checks (pyproject.toml, docs/architecture.md) catch an
import that points the wrong way: run import-linter on a copy of the package as it is, then
with one forbidden import added (the control)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package's Python files and the project's contracts, in a folder of their own."""
    where = tmp_path_factory.mktemp("layers")
    shutil.copytree(
        ROOT / "src" / "crewcall",
        where / "crewcall",
        ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "locale"),
    )
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    return where


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}  # the copy, not the installed package
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_package_keeps_its_contracts(copy: Path) -> None:
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_control_an_import_from_a_higher_layer_breaks_the_layer_contract(copy: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(copy, broken)
    errors = broken / "crewcall" / "core" / "errors.py"
    # Inside a function, the way cycles used to be dodged: it counts all the same.
    errors.write_text(
        errors.read_text() + "\n\ndef _late() -> None:\n    import crewcall.ops.metrics  # noqa\n"
    )
    result = lint_imports(broken)
    assert result.returncode == 1
    assert "Crewcall's layers point one way BROKEN" in result.stdout
    assert "crewcall.core.errors -> crewcall.ops.metrics" in result.stdout
