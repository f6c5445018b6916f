"""People over the API: employees and absences, the role and skill catalogue, limits."""

from __future__ import annotations

from ninja import Router

from crewcall.people.api import employees

router = Router()
router.add_router("", employees.router)
