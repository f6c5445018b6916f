"""`crewcall integrity`: the invariants no constraint can hold (docs/integrity.md)."""
