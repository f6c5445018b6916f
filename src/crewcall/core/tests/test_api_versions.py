"""Two clients PATCH one object with the same ETag at once: one wins, the other gets 412
and nothing is overwritten silently. The control shows the race without the version check."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections

from crewcall.conftest import Agency
from crewcall.core import versioning
from crewcall.people.models import Employee
from crewcall.testing.api import Api, token_for
from crewcall.testing.locks import row_locked_elsewhere

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def waiting_on_locks(count: int) -> None:
    """Until `count` sessions wait for a row lock (both PATCHes are inside their UPDATE)."""
    deadline = time.monotonic() + 20
    while True:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cur.fetchone()[0] >= count:
                return
        assert time.monotonic() < deadline, "the requests never reached the row lock"
        time.sleep(0.01)


def patch_both_at_once(agency: Agency, bob: Any, bodies: list[dict[str, Any]]) -> tuple[Employee, list[Any]]:
    token = token_for(bob)
    employee = agency.employee(name="Greta", notes="")
    answers: list[Any] = [None] * len(bodies)

    def patch(i: int) -> None:
        try:
            answers[i] = Api(token=token).patch(f"employees/{employee.pk}", bodies[i], **{"If-Match": '"1"'})
        finally:
            connections.close_all()

    with row_locked_elsewhere(Employee, employee.pk):
        threads = [threading.Thread(target=patch, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        waiting_on_locks(len(bodies))
    for t in threads:
        t.join(timeout=30)
    employee.refresh_from_db()
    return employee, answers


def test_one_wins_the_other_gets_412_with_the_winners_version(agency: Agency, bob: Any) -> None:
    employee, answers = patch_both_at_once(agency, bob, [{"notes": "from A"}, {"name": "Greta B"}])
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 412], [a.content for a in answers]
    won = next(a for a in answers if a.status_code == 200)
    lost = next(a for a in answers if a.status_code == 412)
    assert employee.version == 2 and won["ETag"] == '"2"' and lost["ETag"] == '"2"'
    assert lost.json()["current"] == won.json()  # the loser sees exactly what the winner wrote
    # No lost field: the row is the winner's change and nothing else.
    if won.json()["notes"] == "from A":
        assert (employee.notes, employee.name) == ("from A", "Greta")
    else:
        assert (employee.notes, employee.name) == ("", "Greta B")


def test_control_without_the_version_in_the_update_both_succeed_and_one_is_overwritten(
    agency: Agency, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(versioning, "VERSION_CONDITION", "AND %s IS NOT NULL")
    employee, answers = patch_both_at_once(agency, bob, [{"notes": "from A"}, {"notes": "from B"}])
    assert [a.status_code for a in answers] == [200, 200]
    # Both were told "saved", yet only one text survived: a silent overwrite.
    assert employee.version == 3 and employee.notes in {"from A", "from B"}
