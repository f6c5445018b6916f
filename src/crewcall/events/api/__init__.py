"""Events over the API: events, templates, work areas (the lifecycle and placements: staffing.api)."""

from __future__ import annotations

from ninja import Router

from crewcall.events.api import events, templates, work_areas

router = Router()
for part in (events, templates, work_areas):
    router.add_router("", part.router)
