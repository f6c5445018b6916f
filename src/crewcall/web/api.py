"""API router of this app (see crewcall.api)."""

from __future__ import annotations

from ninja import Router

router = Router()
