"""Reads for events, with bounded query counts."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from crewcall.events.models import WorkArea


def work_areas_with_load(*, event_id: int) -> QuerySet[WorkArea]:
    """Work areas of an event, each with `assigned` counted by the database (one query)."""
    return WorkArea.objects.filter(event_id=event_id).annotate(assigned=Count("assignments"))
