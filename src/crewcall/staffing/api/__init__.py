"""Staffing over the API: invitations and asking, the work log, payroll."""

from __future__ import annotations

from ninja import Router

from crewcall.staffing.api import invitations, payroll, work_log

router = Router()
router.add_router("", invitations.router)
router.add_router("", work_log.router)
router.add_router("", payroll.router)
