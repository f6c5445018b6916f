"""CSV import of employees: every row is checked first, then all are written in one
transaction, or none is (DESIGN.md §7: all-or-nothing, every bad row reported).

The file: UTF-8 (a byte-order mark is fine), a header row naming the columns, comma or
semicolon separated (read off the header). Columns: name, phone_number, primary_role
(a role key), employment_type, and optionally skills (keys separated by ";" or "|"),
is_always_needed (true/false, yes/no, 1/0), notes, preferred_language (de/en).
Errors name the line as a text editor counts it (the header is line 1) and the column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from crewcall.accounts.models import User
from crewcall.core.errors import ValidationFailed
from crewcall.core.transactions import service
from crewcall.people.models import Employee, EmploymentType, Language, Role, Skill
from crewcall.people.validation import normalise_phone

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_SKILLS = 50
COLUMNS = (
    "name",
    "phone_number",
    "primary_role",
    "employment_type",
    "skills",
    "is_always_needed",
    "notes",
    "preferred_language",
)
REQUIRED = ("name", "phone_number", "primary_role", "employment_type")
# Free text is bounded here; the other columns are checked against their few values.
MAX_LENGTH = {"name": 120, "phone_number": 32, "skills": 50 * 41, "notes": 5000}
TRUE = {"true", "yes", "1", "ja", "y"}
FALSE = {"false", "no", "0", "nein", "n", ""}
SKILL_SEPARATOR = re.compile(r"[;|]")


@dataclass(frozen=True)
class RowError:
    """What is wrong where: `line` None means the file as a whole."""

    line: int | None
    field: str
    message: str

    @property
    def label(self) -> str:
        return self.field if self.line is None else f"line {self.line}: {self.field}"

    def __str__(self) -> str:
        where = self.field if self.line is None else f"line {self.line}, {self.field}"
        return f"{where}: {self.message}"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


class ImportRejected(ValidationFailed):
    """Nothing was imported; `problems` lists every fault, in file order."""

    code = "import_rejected"

    def __init__(self, problems: list[RowError]) -> None:
        self.problems = problems
        errors: dict[str, list[str]] = {}
        for problem in problems:
            errors.setdefault(problem.label, []).append(problem.message)
        super().__init__(errors)
        lines = len({p.line for p in problems if p.line is not None})
        where = f" on {_count(lines, 'line')}" if lines else ""
        # One short sentence: the problems themselves are listed field by field.
        self.message = f"Nothing was imported: {_count(len(problems), 'problem')}{where}."
        self.args = (self.message,)


@dataclass
class ImportResult:
    created: int
    skills_linked: int


@dataclass
class _Row:
    line: int
    name: str = ""
    phone_number: str = ""
    role_id: int = 0
    employment_type: str = ""
    skill_ids: list[int] = field(default_factory=list)
    is_always_needed: bool = False
    notes: str = ""
    preferred_language: str = Language.GERMAN


def _reject(message: str) -> ImportRejected:
    return ImportRejected([RowError(None, "file", message)])


def decode_csv(data: bytes) -> str:
    """The bytes of an uploaded or read file as text, or ImportRejected naming `file`."""
    if len(data) > MAX_BYTES:
        raise _reject(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _reject(f"This is not UTF-8 text (line {line}); save the file as CSV in UTF-8.") from None


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _header(cells: list[str]) -> tuple[list[str], list[RowError]]:
    names = [cell.strip().lower() for cell in cells]
    problems: list[RowError] = []
    for position, name in enumerate(names, start=1):
        if name not in COLUMNS:
            problems.append(
                RowError(
                    1, f"column {position}", f"Unknown column {_shown(name)}; known: {', '.join(COLUMNS)}."
                )
            )
        elif names.index(name) != position - 1:
            problems.append(RowError(1, name, "This column appears twice."))
    problems += [RowError(1, name, "This column is required.") for name in REQUIRED if name not in names]
    return names, problems


def _records(text: str) -> tuple[list[str], list[tuple[int, list[str]]], list[RowError]]:
    """The header, the non-blank records with the line each starts on, and what could not be read."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    records: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            return [], [], [RowError(None, "file", "The first line must name the columns; it is empty.")]
        while True:
            start = reader.line_num + 1
            record = next(reader, None)
            if record is None:
                break
            if not any(cell.strip() for cell in record):
                continue
            if len(records) == MAX_ROWS:
                return header, records, [RowError(None, "file", f"At most {MAX_ROWS:,} employees per file.")]
            records.append((start, record))
    except csv.Error as exc:
        # The rest of the file cannot be read reliably after broken quoting.
        return header or [], records, [RowError(reader.line_num, "row", f"This is not valid CSV: {exc}.")]
    return header, records, []


class _Checker:
    """Checks rows against the catalogue and each other; collects every problem."""

    def __init__(self) -> None:
        self.roles = {r.key: r for r in Role.objects.only("id", "key", "is_active")}
        self.skills = {s.key: s for s in Skill.objects.only("id", "key", "is_active")}
        self.problems: list[RowError] = []
        self.phones: dict[str, int] = {}

    def fault(self, line: int, column: str, message: str) -> None:
        self.problems.append(RowError(line, column, message))

    def row(self, line: int, values: dict[str, str]) -> _Row:
        row = _Row(line=line)
        for column, raw in values.items():
            value = raw.strip()
            if "\x00" in value:
                self.fault(line, column, "NUL characters are not allowed.")
            elif len(value) > MAX_LENGTH.get(column, len(value)):
                self.fault(line, column, f"At most {MAX_LENGTH[column]} characters.")
            elif not value and column in REQUIRED:
                self.fault(line, column, "This field is required.")
            else:
                getattr(self, f"_{column}")(row, value)
        return row

    def _name(self, row: _Row, value: str) -> None:
        row.name = value

    def _phone_number(self, row: _Row, value: str) -> None:
        try:
            phone = normalise_phone(value)
        except ValidationFailed as exc:
            self.fault(row.line, "phone_number", exc.errors["phone_number"][0])
            return
        first = self.phones.setdefault(phone, row.line)
        if first != row.line:
            self.fault(row.line, "phone_number", f"The same phone number as line {first}.")
        row.phone_number = phone

    def _primary_role(self, row: _Row, value: str) -> None:
        role = self.roles.get(value.lower())
        if role is None:
            self.fault(row.line, "primary_role", f"There is no role {_shown(value)}.")
        elif not role.is_active:
            self.fault(row.line, "primary_role", f"The role {_shown(value)} is archived.")
        else:
            row.role_id = role.pk

    def _employment_type(self, row: _Row, value: str) -> None:
        if value.lower() not in EmploymentType.values:
            self.fault(row.line, "employment_type", f"One of: {', '.join(EmploymentType.values)}.")
        row.employment_type = value.lower()

    def _skills(self, row: _Row, value: str) -> None:
        keys = list(dict.fromkeys(k.strip().lower() for k in SKILL_SEPARATOR.split(value) if k.strip()))
        if len(keys) > MAX_SKILLS:
            self.fault(row.line, "skills", f"At most {MAX_SKILLS} skills.")
            return
        unknown = [k for k in keys if k not in self.skills]
        archived = [k for k in keys if k in self.skills and not self.skills[k].is_active]
        if unknown:
            self.fault(row.line, "skills", f"No such skill: {', '.join(_shown(k) for k in unknown)}.")
        if archived:
            self.fault(row.line, "skills", f"Archived: {', '.join(archived)}.")
        row.skill_ids = [self.skills[k].pk for k in keys if k in self.skills]

    def _is_always_needed(self, row: _Row, value: str) -> None:
        flag = value.lower()
        if flag not in TRUE | FALSE:
            self.fault(row.line, "is_always_needed", "Write true or false (or yes/no, 1/0).")
        row.is_always_needed = flag in TRUE

    def _notes(self, row: _Row, value: str) -> None:
        row.notes = value

    def _preferred_language(self, row: _Row, value: str) -> None:
        language = value.lower() or Language.GERMAN
        if language not in Language.values:
            self.fault(row.line, "preferred_language", f"One of: {', '.join(Language.values)}.")
        row.preferred_language = language

    def taken_phones(self) -> None:
        """Numbers an active employee already has (one query for the whole file)."""
        taken = Employee.objects.filter(is_active=True, phone_number__in=list(self.phones))
        for phone in taken.values_list("phone_number", flat=True):
            line = self.phones[phone or ""]
            self.fault(line, "phone_number", "An active employee already has this phone number.")


def check(text: str) -> tuple[list[_Row], list[RowError]]:
    """Every row read and checked, with every problem found (in file order)."""
    header, records, problems = _records(text)
    columns, header_problems = _header(header) if header else ([], [])
    if header_problems or not header:
        return [], header_problems + problems
    checker = _Checker()
    rows: list[_Row] = []
    for line, record in records:
        if len(record) != len(columns):
            checker.fault(line, "row", f"{len(record)} values, but the header names {len(columns)} columns.")
            continue
        rows.append(checker.row(line, dict(zip(columns, record, strict=True))))
    checker.taken_phones()
    found = sorted(checker.problems, key=lambda p: p.line or 0) + problems
    return rows, found


# One statement per table, the rows passed as arrays: Django's bulk_create spent more
# time preparing its per-row parameters (the database defaults of every row) than the
# database spent inserting. The row triggers (version, history, change feed) still fire
# for every row; the columns left out get their database defaults.
INSERT_EMPLOYEES = """
INSERT INTO people_employee (name, phone_number, primary_role_id, employment_type,
    is_always_needed, is_active, notes, preferred_language)
SELECT n, p, r, t, a, true, o, l
FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::text[], %s::boolean[], %s::text[], %s::text[])
    AS row (n, p, r, t, a, o, l)
RETURNING id, phone_number
"""
INSERT_SKILLS = """
INSERT INTO people_employeeskill (employee_id, skill_id)
SELECT e, s FROM unnest(%s::bigint[], %s::bigint[]) AS link (e, s)
"""


def _insert(rows: list[_Row]) -> ImportResult:
    columns: list[Any] = [
        [row.name for row in rows],
        [row.phone_number for row in rows],
        [row.role_id for row in rows],
        [row.employment_type for row in rows],
        [row.is_always_needed for row in rows],
        [row.notes for row in rows],
        [row.preferred_language for row in rows],
    ]
    with connection.cursor() as cursor:
        cursor.execute(INSERT_EMPLOYEES, columns)
        # Phone numbers are unique in the file: they tell which id each row got.
        ids = {phone: pk for pk, phone in cursor.fetchall()}
        links = [(ids[row.phone_number], skill_id) for row in rows for skill_id in row.skill_ids]
        if links:
            cursor.execute(INSERT_SKILLS, [[e for e, _ in links], [s for _, s in links]])
    return ImportResult(created=len(ids), skills_linked=len(links))


@service
def employees_import(*, actor: User | None, csv_text: str) -> ImportResult:
    """Import every employee of the CSV text, or none: raises ImportRejected listing every problem."""
    try:
        size = len(csv_text) if len(csv_text) > MAX_BYTES else len(csv_text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _reject("The text holds characters that are not Unicode (lone surrogates).") from None
    if size > MAX_BYTES:
        raise _reject(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.")
    rows, problems = check(csv_text.removeprefix("\ufeff"))
    if problems:
        raise ImportRejected(problems)
    if not rows:
        raise _reject("The file names the columns but holds no employees.")
    return _insert(rows)
