"""Staffing over the API: the event lifecycle, invitations and asking, placements, the
work log, payroll."""

from __future__ import annotations

from ninja import Router

from crewcall.staffing.api import assignments, event_lifecycle, invitations, payroll, work_log

router = Router()
router.add_router("", event_lifecycle.router)
router.add_router("", invitations.router)
router.add_router("", assignments.router)
router.add_router("", work_log.router)
router.add_router("", payroll.router)
