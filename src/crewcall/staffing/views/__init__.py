"""The event's staffing board (mounted under events/<event_id>/board/ by staffing/urls.py):
the board itself with its actions (board.py), the hours entered after the event
(hours.py) and one employee's message timeline (timeline.py). The simulator's
conversation page (simulator.py) is mounted by crewcall.urls under /simulator/."""

from __future__ import annotations

from crewcall.staffing.views.board import ask, board, invitation_status, move, nudge, place, unplace
from crewcall.staffing.views.hours import hours_approve, hours_reopen, hours_save
from crewcall.staffing.views.timeline import timeline

__all__ = [
    "ask", "board", "hours_approve", "hours_reopen", "hours_save", "invitation_status", "move", "nudge",
    "place", "timeline", "unplace",
]  # fmt: skip
