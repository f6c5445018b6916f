"""People over the API: employees and absences, the role and skill catalogue, limits."""

from __future__ import annotations

from ninja import Router

from crewcall.people.api import catalogue, employee_import, employees, limits

router = Router()
# Before employees: "/employees/{employee_id}" would otherwise take "/employees/import"
# (ninja's path parameters match any segment) and answer its POST with 405.
router.add_router("", employee_import.router)
router.add_router("", employees.router)
router.add_router("", catalogue.router)
router.add_router("", limits.router)
