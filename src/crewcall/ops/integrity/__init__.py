"""`crewcall integrity`: the invariants no constraint can hold (docs/integrity.md).

Importing this package registers the checks ops itself owns, of what spans every app: the
audit history, its hash chains and the job queue. Every other app registers its own
checks in its `integrity` module (registry.all_checks() finds them)."""

from crewcall.ops.integrity import audit, chain, jobs  # noqa: F401
