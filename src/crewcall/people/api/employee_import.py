"""`POST /employees/import`: a CSV file of employees, imported whole or not at all."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import File, Router, UploadedFile

from crewcall.core.api.auth import actor, allow
from crewcall.core.api.problems import ON_WRITE, documented
from crewcall.people.api.catalogue_schemas import EmployeeImportOut
from crewcall.people.imports import MAX_BYTES, MAX_ROWS, decode_csv, employees_import

router = Router(tags=["employees"])
UPLOAD = File(None, description="The CSV file")


@router.post(
    "/employees/import",
    response=documented({200: EmployeeImportOut}, ON_WRITE),
    auth=allow("dispatcher"),
    summary="Import employees from a CSV file: all rows or none",
    description=(
        "Multipart form with the CSV as `file` (UTF-8, header row; columns name, phone_number, "
        "primary_role, employment_type, skills, is_always_needed, notes, preferred_language). "
        f"At most {MAX_ROWS:,} rows and {MAX_BYTES // (1024 * 1024)} MB. If any row is wrong, nothing "
        "is imported and the 422 answer lists every problem, its field named `line N: column`."
    ),
)
def employee_import(request: HttpRequest, file: UploadedFile | None = UPLOAD) -> Any:
    # Django's form parsing drops an empty file: it arrives as no file, and is refused as
    # the empty file it is (by the import's own rule, not as a malformed request).
    # Read one byte past the limit: enough to know it is too large, never the whole of it.
    data = b"" if file is None else file.read(MAX_BYTES + 1)
    result = employees_import(actor=actor(request), csv_text=decode_csv(data))
    return {"created": result.created}
