"""The fair picker (docs/fairness.md): who to ask next for an event, and why.

    from crewcall.staffing.picker import Pick, pick_candidates

`pick_candidates` reads only; the "ask" service turns its picks into invitations.
Modules: `rules` (pure: order, role split, reasons — shared by both finders), `sql` and
`query` (the database finder), `reference` (the in-memory finder the season simulation
runs on; a property test proves it picks exactly as the database finder does).
"""

from crewcall.staffing.picker.query import pick_candidates
from crewcall.staffing.picker.rules import Pick

__all__ = ["Pick", "pick_candidates"]
