"""Helpers for the integrity tests: raw SQL with triggers off, a small world to corrupt,
and readers of an integrity run's outcome."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from crewcall.ops.integrity.runner import IntegrityOutcome
from crewcall.staffing import placement
from crewcall.testing.owner import superuser_connection
from crewcall.testing.sql import run


@contextmanager
def triggers_off() -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """Raw SQL as a careless superuser would: no trigger fires (no guard, no version, no
    history, no change feed, no foreign-key check). Runs on a superuser's connection of its
    own, committed at once (the application's role could not do it): the tests that use it
    are transactional."""
    with superuser_connection() as conn:
        conn.execute("SET session_replication_role = replica")

        def raw(statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []

        yield raw


class World:
    """A recruiting event needing 2, one work area (3 places, 2 bartenders), three
    employees; Ada accepted and placed as bartender."""

    def __init__(self, agency: Any) -> None:
        self.agency = agency
        self.event = agency.event(employees_needed=2, employees_to_ask=4)
        self.area = agency.area(self.event, capacity=3, role_requirements={"bartender": 2})
        self.ada = agency.employee("Ada")
        self.ben = agency.employee("Ben")
        self.cem = agency.employee("Cem")
        self.ada_inv = agency.accepted(self.event, self.ada)
        self.ada_placed = placement.assignment_create(
            actor=agency.actor,
            work_area_id=self.area.pk,
            role_id=agency.bartender.pk,
            invitation_id=self.ada_inv.pk,
        )

    def accept_and_place(self, employee: Any) -> Any:
        inv = self.agency.accepted(self.event, employee)
        return placement.assignment_create(
            actor=self.agency.actor,
            work_area_id=self.area.pk,
            role_id=self.agency.bartender.pk,
            invitation_id=inv.pk,
        )


def found(outcome: IntegrityOutcome, check_id: str) -> list[tuple[str, int | str]]:
    return [(f.kind, f.object_id) for r in outcome.results if r.check.id == check_id for f in r.findings]


def left(outcome: IntegrityOutcome, check_id: str) -> list[tuple[str, int | str]]:
    return [(f["kind"], f["id"]) for f in outcome.left if f["check"] == check_id]


def last_history_source(table: str, row_id: int) -> tuple[str, str]:
    rows = run(
        f"SELECT pgh_label, pgh_context ->> 'source' FROM {table}history WHERE pgh_obj_id = %s"
        " ORDER BY pgh_id DESC LIMIT 1",
        [row_id],
    )
    return rows[0]


def assert_clean(outcome: IntegrityOutcome) -> None:
    dirty = {r.check.id: r.findings[:3] for r in outcome.results if not r.passed}
    assert not dirty, dirty
    assert outcome.exit_code == 0
