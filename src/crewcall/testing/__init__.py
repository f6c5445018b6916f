"""Shared test helpers: one home for what the apps' tests use in common.

Test code only: nothing in the product imports this package. `crewcall.testing.settings`
is the settings module of the test run (pyproject's pytest section), inherited by every
process a test starts.
"""
