"""Events over the API: events and their lifecycle, templates, work areas, placements."""

from __future__ import annotations

from ninja import Router

from crewcall.events.api import assignments, events, templates, work_areas

router = Router()
for part in (events, templates, work_areas, assignments):
    router.add_router("", part.router)
