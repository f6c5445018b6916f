"""CSV import of employees: every row is checked first, then all are written in one
transaction, or none is: all or nothing, every bad row reported.

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
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


def _problems(n: int) -> str:
    return ngettext("%(count)s problem", "%(count)s problems", n) % {"count": f"{n:,}"}


def _lines(n: int) -> str:
    return ngettext("%(count)s line", "%(count)s lines", n) % {"count": f"{n:,}"}


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
        # One short sentence: the problems themselves are listed field by field.
        if lines:
            self.message = _("Nothing was imported: %(problems)s on %(lines)s.") % {
                "problems": _problems(len(problems)),
                "lines": _lines(lines),
            }
        else:
            self.message = _("Nothing was imported: %(problems)s.") % {"problems": _problems(len(problems))}
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
        raise _reject(
            _("The file is larger than %(size)s MB; split it.") % {"size": MAX_BYTES // (1024 * 1024)}
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _reject(
            _("This is not UTF-8 text (line %(line)s); save the file as CSV in UTF-8.") % {"line": line}
        ) from None


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
                    1,
                    f"column {position}",
                    _("Unknown column %(name)s; known: %(known)s.")
                    % {"name": _shown(name), "known": ", ".join(COLUMNS)},
                )
            )
        elif names.index(name) != position - 1:
            problems.append(RowError(1, name, _("This column appears twice.")))
    problems += [RowError(1, name, _("This column is required.")) for name in REQUIRED if name not in names]
    return names, problems


def _records(text: str) -> tuple[list[str], list[tuple[int, list[str]]], list[RowError]]:
    """The header, the non-blank records with the line each starts on, and what could not be read."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    records: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            return [], [], [RowError(None, "file", _("The first line must name the columns; it is empty."))]
        while True:
            start = reader.line_num + 1
            record = next(reader, None)
            if record is None:
                break
            if not any(cell.strip() for cell in record):
                continue
            if len(records) == MAX_ROWS:
                return (
                    header,
                    records,
                    [
                        RowError(
                            None,
                            "file",
                            _("At most %(count)s employees per file.") % {"count": f"{MAX_ROWS:,}"},
                        )
                    ],
                )
            records.append((start, record))
    except csv.Error as exc:
        # The rest of the file cannot be read reliably after broken quoting.
        return (
            header or [],
            records,
            [RowError(reader.line_num, "row", _("This is not valid CSV: %(error)s.") % {"error": exc})],
        )
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
                self.fault(line, column, _("NUL characters are not allowed."))
            elif len(value) > MAX_LENGTH.get(column, len(value)):
                self.fault(line, column, _("At most %(count)s characters.") % {"count": MAX_LENGTH[column]})
            elif not value and column in REQUIRED:
                self.fault(line, column, _("This field is required."))
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
            self.fault(
                row.line, "phone_number", _("The same phone number as line %(line)s.") % {"line": first}
            )
        row.phone_number = phone

    def _primary_role(self, row: _Row, value: str) -> None:
        role = self.roles.get(value.lower())
        if role is None:
            self.fault(row.line, "primary_role", _("There is no role %(key)s.") % {"key": _shown(value)})
        elif not role.is_active:
            self.fault(row.line, "primary_role", _("The role %(key)s is archived.") % {"key": _shown(value)})
        else:
            row.role_id = role.pk

    def _employment_type(self, row: _Row, value: str) -> None:
        if value.lower() not in EmploymentType.values:
            self.fault(
                row.line,
                "employment_type",
                _("One of: %(values)s.") % {"values": ", ".join(EmploymentType.values)},
            )
        row.employment_type = value.lower()

    def _skills(self, row: _Row, value: str) -> None:
        keys = list(dict.fromkeys(k.strip().lower() for k in SKILL_SEPARATOR.split(value) if k.strip()))
        if len(keys) > MAX_SKILLS:
            self.fault(row.line, "skills", _("At most %(count)s skills.") % {"count": MAX_SKILLS})
            return
        unknown = [k for k in keys if k not in self.skills]
        archived = [k for k in keys if k in self.skills and not self.skills[k].is_active]
        if unknown:
            self.fault(
                row.line,
                "skills",
                _("No such skill: %(keys)s.") % {"keys": ", ".join(_shown(k) for k in unknown)},
            )
        if archived:
            self.fault(row.line, "skills", _("Archived: %(keys)s.") % {"keys": ", ".join(archived)})
        row.skill_ids = [self.skills[k].pk for k in keys if k in self.skills]

    def _is_always_needed(self, row: _Row, value: str) -> None:
        flag = value.lower()
        if flag not in TRUE | FALSE:
            self.fault(row.line, "is_always_needed", _("Write true or false (or yes/no, 1/0)."))
        row.is_always_needed = flag in TRUE

    def _notes(self, row: _Row, value: str) -> None:
        row.notes = value

    def _preferred_language(self, row: _Row, value: str) -> None:
        language = value.lower() or Language.GERMAN
        if language not in Language.values:
            self.fault(
                row.line,
                "preferred_language",
                _("One of: %(values)s.") % {"values": ", ".join(Language.values)},
            )
        row.preferred_language = language

    def taken_phones(self) -> None:
        """Numbers an active employee already has (one query for the whole file)."""
        taken = Employee.objects.filter(is_active=True, phone_number__in=list(self.phones))
        for phone in taken.values_list("phone_number", flat=True):
            line = self.phones[phone or ""]
            self.fault(line, "phone_number", _("An active employee already has this phone number."))


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
            checker.fault(
                line,
                "row",
                _("%(values)s values, but the header names %(columns)s columns.")
                % {"values": len(record), "columns": len(columns)},
            )
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
            cursor.execute(INSERT_SKILLS, [[e for e, _skill in links], [s for _employee, s in links]])
    return ImportResult(created=len(ids), skills_linked=len(links))


@service
def employees_import(*, actor: User | None, csv_text: str) -> ImportResult:
    """Import every employee of the CSV text, or none: raises ImportRejected listing every problem."""
    try:
        size = len(csv_text) if len(csv_text) > MAX_BYTES else len(csv_text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _reject(_("The text holds characters that are not Unicode (lone surrogates).")) from None
    if size > MAX_BYTES:
        raise _reject(
            _("The file is larger than %(size)s MB; split it.") % {"size": MAX_BYTES // (1024 * 1024)}
        )
    rows, problems = check(csv_text.removeprefix("\ufeff"))
    if problems:
        raise ImportRejected(problems)
    if not rows:
        raise _reject(_("The file names the columns but holds no employees."))
    return _insert(rows)
