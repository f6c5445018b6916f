"""Server time of the staffing board with many invitations (issue 6: 200 in < 80 ms).

    .venv/bin/python bench/board.py [--invitations 200] [--runs 50]

Builds one event with that many invitations in every status and some placements in a
scratch database (once), then renders /events/<id>/board/ in process through Django's
full stack (middleware, session, template) as a dispatcher, and prints the median and
p95 of the server time, and the number of queries per render.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import time as clock
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import use_scratch_database  # noqa: E402

use_scratch_database("bench-board", "bench_board")

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402


def build(count: int) -> int:
    from crewcall.accounts.models import User
    from crewcall.events.models import Event
    from crewcall.events.services import assignment_create, event_create, event_transition, work_area_create
    from crewcall.people.models import Role
    from crewcall.people.services import employee_create, role_create
    from crewcall.staffing.services import invitation_create, invitation_set_status

    title = f"Board bench {count}"
    found = Event.objects.filter(title=title).first()
    if found is not None:
        return found.pk
    actor = User.objects.filter(username="board-bench").first() or User.objects.create_user(
        "board-bench", role="dispatcher"
    )
    role = Role.objects.filter(key="waiter").first() or role_create(actor=actor, key="waiter", name="Waiter")
    event = event_create(
        actor=actor, title=title, event_date=timezone.localdate() + timedelta(days=20), start_time=clock(18),
        end_time=clock(23), hourly_rate=Decimal("15.50"), employees_needed=count // 4, employees_to_ask=count,
    )  # fmt: skip
    event = event_transition(actor=actor, event_id=event.pk, expected_version=event.version, to_status="recruiting")
    areas = [work_area_create(actor=actor, event_id=event.pk, name=f"Area {n}", max_capacity=count) for n in range(4)]
    statuses = ["asked", "accepted", "declined", "asked", "accepted", "expired"]
    for n in range(count):
        person = employee_create(actor=actor, name=f"Board {count} {n:04d}", phone_number=f"+49152{count:03d}{n:05d}",
                                 primary_role=role, employment_type="part_time")  # fmt: skip
        invitation = invitation_create(actor=actor, event_id=event.pk, employee_id=person.pk)
        status = statuses[n % len(statuses)]
        if status != "asked" and not (status == "accepted" and n // 6 >= count // 4 // 2):
            invitation = invitation_set_status(
                actor=actor, invitation_id=invitation.pk, expected_version=invitation.version, status=status
            )
            if status == "accepted" and n % 12 == 1:
                assignment_create(actor=actor, invitation_id=invitation.pk, work_area_id=areas[n % 4].pk,
                                  role_id=role.pk)  # fmt: skip
    return event.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invitations", type=int, default=200)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from crewcall.accounts.models import User
    from crewcall.staffing.models import Invitation

    event_id = build(args.invitations)
    client = Client()
    client.force_login(User.objects.get(username="board-bench"))
    url = f"/events/{event_id}/board/"
    for _ in range(5):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(args.runs):
        began = time.perf_counter()
        answer = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200
    with CaptureQueriesContext(connection) as seen:
        client.get(url)
    times.sort()
    total = Invitation.objects.filter(event_id=event_id).count()
    print(f"board of an event with {total} invitations, {args.runs} renders")
    print(f"server time: median {statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:.1f} ms, "
          f"{len(seen)} queries")  # fmt: skip


if __name__ == "__main__":
    main()
