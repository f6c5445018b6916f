"""Benchmark the fair picker on 100,000 employees.

    .venv/bin/python bench/picker.py [--employees N] [--runs N] [--reload] [--explain]

Uses a scratch database: without DATABASE_URL, the embedded server in
CREWCALL_DATA_DIR (default .data/bench) and a database named crewcall_bench; with
DATABASE_URL, that database, which must be empty or hold only this benchmark's data
(it refuses anything else). The data is generated in SQL (INSERT … SELECT over
generate_series, seeded), loaded once and reused on the next run.

Prints, per scenario, the median and 95th percentile of `pick_candidates(count=50)` over
several runs after two warm-up runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("CREWCALL_DATA_DIR", str(ROOT / ".data" / "bench"))
    os.environ.setdefault("CREWCALL_DATABASE_NAME", "crewcall_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crewcall.settings")
sys.path.insert(0, str(ROOT / "src"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from crewcall.core.roles import as_owner  # noqa: E402
from crewcall.events.models import Event  # noqa: E402
from crewcall.people.models import Employee  # noqa: E402
from crewcall.staffing.picker import pick_candidates  # noqa: E402
from crewcall.staffing.picker.query import candidates_query, load_situation  # noqa: E402

NAME_PREFIX = "Bench employee "
ROLES = {"waiter": 31, "bartender": 22, "cook": 14, "runner": 12, "barista": 7, "host": 7, "lead": 7}
SKILLS = ("cocktails", "wine", "forklift", "first_aid", "english", "french", "sommelier", "coffee")
TARGET_OFFSET = 20  # the benchmark events are this many days after the load date


LOAD = """
SELECT setseed(0.2026);
INSERT INTO people_role (key, name, is_active)
    SELECT key, initcap(key), true FROM unnest(%(roles)s::text[]) AS key;
INSERT INTO people_skill (key, name, is_active)
    SELECT key, initcap(key), true FROM unnest(%(skills)s::text[]) AS key;
INSERT INTO people_employmenttypelimit (employment_type, monthly_hours_cap, monthly_earnings_cap) VALUES
    ('mini_job', 43, 556), ('part_time', 80, NULL), ('full_time', NULL, NULL), ('freelance', NULL, NULL);

INSERT INTO people_employee (name, phone_number, primary_role_id, employment_type, is_always_needed,
                             is_active, notes, preferred_language)
SELECT %(prefix)s || g, '+4915' || lpad(g::text, 9, '0'),
       (SELECT id FROM people_role WHERE key = (%(role_pool)s::text[])[1 + floor(r * 100)::int]),
       (ARRAY['mini_job', 'mini_job', 'part_time', 'full_time', 'freelance'])[1 + floor(random() * 5)::int],
       random() < 0.001, random() < 0.97, '', 'de'
FROM (SELECT g, random() AS r FROM generate_series(1, %(employees)s) g) x;

INSERT INTO people_employeeskill (employee_id, skill_id)
SELECT e.id, s.id FROM people_employee e CROSS JOIN people_skill s WHERE random() < 0.25;

-- Absences: a twentieth of the pool, around the benchmark date.
INSERT INTO people_absence (employee_id, kind, starts_on, ends_on, note)
SELECT id, 'vacation', d, d + (random() * 10)::int, ''
FROM (SELECT id, %(target)s::date - 15 + (random() * 30)::int AS d FROM people_employee
      WHERE random() < 0.05) x;

-- Two years of past events, 12 a day, each worked by about 30 people.
INSERT INTO events_event (title, location, event_date, start_time, end_time, ends_next_day, description,
                          specialties, hourly_rate, employees_needed, employees_to_ask, status, is_template)
SELECT 'Past event ' || g, '', %(target)s::date - 1 - (g %% 730),
       time '10:00' + (g %% 8) * interval '1 hour',
       time '15:00' + (g %% 8) * interval '1 hour',
       false, '', '', 15 + (g %% 5), 30, 40, 'completed', false
FROM generate_series(1, 730 * 12) g;

-- This month's and next month's events, each with 20 accepted so far (caps and overlaps).
INSERT INTO events_event (title, location, event_date, start_time, end_time, ends_next_day, description,
                          specialties, hourly_rate, employees_needed, employees_to_ask, status, is_template)
SELECT 'Coming event ' || g, '', %(target)s::date - 10 + (g %% 40),
       time '08:00' + (g %% 12) * interval '1 hour', NULL, false, '', '', 16, 20, 30, 'staffed', false
FROM generate_series(1, 40 * 6) g;

INSERT INTO staffing_invitation (event_id, employee_id, status, asked_at, wave, pick_reason)
SELECT ev.id, lo + floor(random() * span)::int,
       CASE WHEN ev.status = 'completed' THEN 'completed' ELSE 'accepted' END,
       now(), 1, ''
FROM events_event ev
CROSS JOIN (SELECT min(id) AS lo, max(id) - min(id) + 1 AS span FROM people_employee) p
CROSS JOIN LATERAL generate_series(1, CASE WHEN ev.status = 'completed' THEN 30 ELSE 20 END) n
WHERE NOT ev.is_template
ON CONFLICT DO NOTHING;

INSERT INTO staffing_worklog (event_id, employee_id, started_at, ended_at, break_minutes, note)
SELECT i.event_id, i.employee_id,
       (ev.event_date + ev.start_time) AT TIME ZONE 'Europe/Berlin',
       (ev.event_date + ev.start_time) AT TIME ZONE 'Europe/Berlin'
           + interval '5 hours' + (i.id %% 4) * interval '15 minutes',
       0, ''
FROM staffing_invitation i JOIN events_event ev ON ev.id = i.event_id
WHERE i.status = 'completed';
"""

SCENARIOS = """
INSERT INTO events_event (title, location, event_date, start_time, end_time, ends_next_day, description,
                          specialties, hourly_rate, employees_needed, employees_to_ask, status, is_template)
VALUES ('Bench festival', '', %(target)s, '14:00', '01:00', true, '', '', 15, 40, 60, 'recruiting', false),
       ('Bench bar night', '', %(target)s, '20:00', '03:00', true, '', '', 15, 30, 50, 'recruiting', false),
       ('Bench open call', '', %(target)s, '18:00', NULL, false, '', '', 16, 40, 60, 'recruiting', false);
INSERT INTO events_workarea (event_id, name, location, description, max_capacity, is_active, priority,
                             role_requirements, color_theme, position_order)
SELECT ev.id, a.name, '', '', a.capacity, true, 'high', a.req::jsonb, 'blue', a.pos
FROM events_event ev,
     (VALUES ('Main bar', 16, '{"bartender": 12, "runner": 2}', 1),
             ('Cocktail bar', 8, '{"bartender": 6}', 2),
             ('Coffee truck', 4, '{"barista": 4}', 3),
             ('Storage', 6, '{"runner": 4}', 4),
             ('Floor', 10, '{}', 5)) AS a(name, capacity, req, pos)
WHERE ev.title = 'Bench festival' OR (ev.title = 'Bench bar night' AND a.name <> 'Floor');
INSERT INTO events_workareaskill (work_area_id, skill_id)
SELECT a.id, s.id FROM events_workarea a JOIN events_event ev ON ev.id = a.event_id
JOIN people_skill s ON (a.name, s.key) IN (('Cocktail bar', 'cocktails'), ('Coffee truck', 'coffee'),
                                          ('Storage', 'forklift'))
WHERE ev.title IN ('Bench festival', 'Bench bar night');
-- A few already asked for the festival (they count as filled, and are never picked again).
INSERT INTO staffing_invitation (event_id, employee_id, status, asked_at, wave, pick_reason)
SELECT (SELECT id FROM events_event WHERE title = 'Bench festival'), e.id, 'asked', now(), 1, ''
FROM people_employee e WHERE e.is_active ORDER BY e.id LIMIT 10;
"""


# A festival with an area open to any role (every employee fits), a bar night whose areas
# all name their roles and most their skills, an event without work areas yet.
SCENARIO_TITLES = ("Bench festival", "Bench bar night", "Bench open call")


def load(employees: int) -> None:
    with transaction.atomic(), connection.cursor() as cur:
        # Generated data is consistent by construction and written in its final state
        # (completed events, worked invitations): the row triggers (history, versions,
        # lifecycle guards) are skipped for the load. That needs a superuser, as on the
        # embedded server or a scratch server of your own.
        try:
            cur.execute("SET LOCAL session_replication_role = replica")
        except DatabaseError as exc:
            raise SystemExit(f"The benchmark load needs a superuser on a scratch database: {exc}") from exc
        target = timezone.localdate() + timedelta(days=TARGET_OFFSET)
        params = {
            "role_pool": [key for key, weight in ROLES.items() for _ in range(weight)],
            "roles": list(ROLES),
            "skills": list(SKILLS),
            "prefix": NAME_PREFIX,
            "employees": employees,
            "target": target,
        }
        cur.execute(LOAD, params)
        cur.execute(SCENARIOS, params)
    with as_owner(), connection.cursor() as cur:
        # A settled database, as autovacuum leaves it: statistics and the visibility map.
        cur.execute("VACUUM ANALYZE")


def prepare(employees: int, reload: bool) -> None:
    call_command("migrate", verbosity=0)
    foreign = Employee.objects.exclude(name__startswith=NAME_PREFIX).exists()
    if foreign:
        raise SystemExit("This database holds employees that are not benchmark data; use a scratch database.")
    scenarios = Event.objects.filter(title__in=SCENARIO_TITLES).count()
    if reload or Employee.objects.count() != employees or scenarios != len(SCENARIO_TITLES):
        with as_owner(), connection.cursor() as cur:
            cur.execute(
                "TRUNCATE staffing_worklog, staffing_invitation, events_workareaskill, events_workarea, "
                "events_event, people_absence, people_employeeskill, people_employee, people_skill, "
                "people_role, people_employmenttypelimit CASCADE"
            )
        began = time.perf_counter()
        print(f"Loading {employees:,} employees and two years of events …", flush=True)
        load(employees)
        print(f"  loaded in {time.perf_counter() - began:.1f} s")


def counts() -> str:
    with connection.cursor() as cur:
        parts = []
        for table in ("people_employee", "people_employeeskill", "people_absence", "events_event",
                      "staffing_invitation", "staffing_worklog"):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
            parts.append(f"{table.split('_', 1)[1]} {cur.fetchone()[0]:,}")
    return ", ".join(parts)


def explain(event_id: int, count: int) -> None:
    query, params = candidates_query(load_situation(event_id), limit=count)
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, params)
        for (line,) in cur.fetchall():
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--reload", action="store_true", help="drop and regenerate the data")
    parser.add_argument("--explain", action="store_true", help="print the candidate query's plan")
    args = parser.parse_args()
    prepare(args.employees, args.reload)
    print(f"Data: {counts()}")
    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        print(f"Server: {cur.fetchone()[0].split(' on ')[0]}")
    for title in SCENARIO_TITLES:
        with connection.cursor() as cur:
            cur.execute("SELECT id FROM events_event WHERE title = %s", [title])
            (event_id,) = cur.fetchone()
        if args.explain:
            explain(event_id, args.count)
        for _ in range(2):
            pick_candidates(event_id=event_id, count=args.count)
        timings = []
        for _ in range(args.runs):
            began = time.perf_counter()
            picks = pick_candidates(event_id=event_id, count=args.count)
            timings.append((time.perf_counter() - began) * 1000)
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        per_role = Counter(p.role_key for p in picks)
        roles = ", ".join(f"{role} {n}" for role, n in sorted(per_role.items()))
        print(
            f"{title}: pick {args.count} → {len(picks)} ({roles}); "
            f"median {statistics.median(timings):.0f} ms, p95 {p95:.0f} ms, "
            f"min {timings[0]:.0f} ms, max {timings[-1]:.0f} ms over {args.runs} runs"
        )


if __name__ == "__main__":
    main()
