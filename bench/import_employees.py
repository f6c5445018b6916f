"""CSV import of employees: how long 5,000 (or --rows) take, clean, and refused.

    .venv/bin/python bench/import_employees.py [--rows 5000] [--runs 3]

Each run imports a fresh file (new phone numbers) into a scratch database through the
service the API and `crewcall import` use (one transaction), then times the same file
with one bad row near the end (everything checked, nothing written).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import use_scratch_database  # noqa: E402

use_scratch_database("bench-import", "bench_import")

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402


def csv_text(rows: int, *, bad_line: int | None = None) -> str:
    base = random.randrange(10**7, 9 * 10**7 - rows)  # noqa: S311 (numbers, not secrets)
    lines = ["name,phone_number,primary_role,employment_type,skills,is_always_needed,notes,preferred_language"]
    for n in range(rows):
        phone = "not a phone" if bad_line == n + 2 else f"+49151{base + n:08d}"
        lines.append(f"Person {n},{phone},{('waiter', 'bartender')[n % 2]},part_time,wine,no,,de")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from crewcall.people.imports import ImportRejected, employees_import
    from crewcall.people.models import Role, Skill
    from crewcall.people.services import role_create, skill_create

    for key in ("waiter", "bartender"):
        if not Role.objects.filter(key=key).exists():
            role_create(actor=None, key=key, name=key.title())
    if not Skill.objects.filter(key="wine").exists():
        skill_create(actor=None, key="wine", name="Wine")
    clean, refused = [], []
    for _ in range(args.runs):
        text = csv_text(args.rows)
        began = time.perf_counter()
        result = employees_import(actor=None, csv_text=text)
        clean.append(time.perf_counter() - began)
        assert result.created == args.rows, result
        bad = csv_text(args.rows, bad_line=args.rows - 10)
        began = time.perf_counter()
        try:
            employees_import(actor=None, csv_text=bad)
        except ImportRejected:
            refused.append(time.perf_counter() - began)
        else:
            raise SystemExit("the file with a bad row was imported")
        connection.close()
    print(f"{args.rows} rows, {args.runs} runs")
    print(f"clean import (one transaction): median {statistics.median(clean):.2f} s, "
          f"range {min(clean):.2f}-{max(clean):.2f} s")  # fmt: skip
    print(f"refused (one bad row, nothing written): median {statistics.median(refused):.2f} s")


if __name__ == "__main__":
    main()
