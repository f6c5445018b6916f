"""The picker's two queries: what the event needs, and its best eligible candidates.

Raw SQL with CTEs because every rule is a set operation PostgreSQL does well on a large
pool (anti-joins for invited / absent / booked, one aggregate over the work log, a bounded
top-N sort per role); the ORM would need several round trips for the same.
"""

from __future__ import annotations

# The event's end on the wall clock (rules.Shift.ends): an open end runs until midnight,
# a night shift ends on the next day.
EVENT_ENDS = """CASE WHEN {e}.end_time IS NULL THEN ({e}.event_date + 1)::timestamp
    ELSE ({e}.event_date + CASE WHEN {e}.ends_next_day THEN 1 ELSE 0 END) + {e}.end_time END"""

# The planned hours of an event (rules.Shift.expected_hours): duration rounded to the cent
# of an hour, an open end counted as %(open_end_hours)s.
EXPECTED_HOURS = """ROUND(CASE WHEN {e}.end_time IS NULL THEN %(open_end_hours)s::numeric
    ELSE EXTRACT(EPOCH FROM ({e}.end_time - {e}.start_time)
        + CASE WHEN {e}.ends_next_day THEN interval '24 hours' ELSE interval '0' END) / 3600 END, 2)"""

SITUATION = """
SELECT e.event_date, e.start_time, e.end_time, e.ends_next_day, e.hourly_rate, e.employees_to_ask,
    (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                'id', a.id, 'name', a.name, 'capacity', a.max_capacity,
                'requirements', a.role_requirements,
                'skills', ARRAY(SELECT s.skill_id FROM events_workareaskill s
                                WHERE s.work_area_id = a.id ORDER BY s.skill_id))
            ORDER BY a.position_order, a.id), '[]'::jsonb)::text
     FROM events_workarea a WHERE a.event_id = e.id AND a.is_active) AS areas,
    (SELECT COALESCE(jsonb_object_agg(x.key, x.n), '{}'::jsonb)::text
     FROM (SELECT r.key, count(*) AS n
           FROM staffing_invitation i
           JOIN people_employee p ON p.id = i.employee_id
           JOIN people_role r ON r.id = p.primary_role_id
           WHERE i.event_id = e.id AND i.status = ANY (%(open_statuses)s)
           GROUP BY r.key) x) AS open_by_role,
    (SELECT COALESCE(jsonb_object_agg(r.key, jsonb_build_array(r.id, r.name)), '{}'::jsonb)::text
     FROM people_role r) AS roles
FROM events_event e
WHERE e.id = %(event_id)s
"""

# Parameters: event_id, day, begins, ends (wall-clock timestamps of the event), hours and
# rate (its expected hours and hourly rate), month_start, month_end, window_start, areas
# (JSON: id, roles (role ids), skills (skill ids) of the active areas, the cheapest to
# check first), everyone_fits (no active areas, or one open to any role without skills),
# role_ids (the only roles that can fit, or NULL for any), limit (rows kept per role: no
# role ever gets more than `count` places, and the best remaining overall are among the
# best `count` of their role), booked_statuses, open_end_hours, count_booked.
#
# Shape, for speed on a large pool: `pool` filters employees on narrow rows; `worked`
# aggregates the work log once (hash aggregate); `scored` adds the order's figures;
# `best` takes the top `limit` per role with one bounded top-N sort each instead of
# sorting the whole pool; names and fitting areas are looked up for those rows only.
CANDIDATES = f"""
WITH areas AS (
    SELECT * FROM jsonb_to_recordset(%(areas)s::jsonb) AS a(id bigint, roles bigint[], skills bigint[])
),
-- Accepted (or worked) for another event whose window overlaps this one's.
booked AS (
    SELECT DISTINCT i.employee_id
    FROM events_event o
    JOIN staffing_invitation i ON i.event_id = o.id
    WHERE o.event_date BETWEEN %(day)s::date - 1 AND %(day)s::date + 1
      AND o.id <> %(event_id)s
      AND i.status = ANY (%(booked_statuses)s)
      AND o.event_date + o.start_time < %(ends)s::timestamp
      AND {EVENT_ENDS.format(e="o")} > %(begins)s::timestamp
),
month_events AS (
    SELECT o.id, o.hourly_rate, {EXPECTED_HOURS.format(e="o")} AS hours
    FROM events_event o
    WHERE o.event_date >= %(month_start)s AND o.event_date < %(month_end)s AND o.id <> %(event_id)s
),
-- Hours in the event's month: logged, plus planned for accepted events not logged yet.
month_load AS (
    SELECT x.employee_id, SUM(x.hours) AS hours, SUM(x.hours * x.rate) AS earnings
    FROM (
        SELECT w.employee_id, w.hours, m.hourly_rate AS rate
        FROM staffing_worklog w JOIN month_events m ON m.id = w.event_id
        UNION ALL
        SELECT i.employee_id, m.hours, m.hourly_rate
        FROM staffing_invitation i JOIN month_events m ON m.id = i.event_id
        WHERE i.status = 'accepted'
          AND NOT EXISTS (SELECT 1 FROM staffing_worklog w
                          WHERE w.event_id = i.event_id AND w.employee_id = i.employee_id)
    ) x
    GROUP BY x.employee_id
),
pool AS MATERIALIZED (
    SELECT e.id, e.primary_role_id AS role_id, e.is_always_needed
    FROM people_employee e
    LEFT JOIN people_employmenttypelimit l ON l.employment_type = e.employment_type
    LEFT JOIN month_load ml ON ml.employee_id = e.id
    WHERE e.is_active AND e.anonymised_at IS NULL AND e.phone_number IS NOT NULL
      AND (%(role_ids)s::bigint[] IS NULL OR e.primary_role_id = ANY (%(role_ids)s::bigint[]))
      -- fits an active area: a listed role (or none listed) and every required skill
      AND (%(everyone_fits)s OR EXISTS (
          SELECT 1 FROM areas a
          WHERE (cardinality(a.roles) = 0 OR e.primary_role_id = ANY (a.roles))
            AND (cardinality(a.skills) = 0
                 OR cardinality(a.skills) = (SELECT count(*) FROM people_employeeskill es
                                             WHERE es.employee_id = e.id AND es.skill_id = ANY (a.skills)))))
      AND NOT EXISTS (SELECT 1 FROM staffing_invitation i
                      WHERE i.event_id = %(event_id)s AND i.employee_id = e.id)
      AND NOT EXISTS (SELECT 1 FROM people_absence ab
                      WHERE ab.employee_id = e.id AND ab.starts_on <= %(day)s AND ab.ends_on >= %(day)s)
      AND NOT EXISTS (SELECT 1 FROM booked b WHERE b.employee_id = e.id)
      AND (l.monthly_hours_cap IS NULL
           OR COALESCE(ml.hours, 0) + %(hours)s::numeric <= l.monthly_hours_cap)
      AND (l.monthly_earnings_cap IS NULL
           OR COALESCE(ml.earnings, 0) + %(hours)s::numeric * %(rate)s::numeric <= l.monthly_earnings_cap)
),
worked AS (
    SELECT w.employee_id,
           SUM(w.hours) FILTER (WHERE o.event_date >= %(window_start)s) AS window_hours,
           MAX(o.event_date) AS last_worked
    FROM staffing_worklog w
    JOIN events_event o ON o.id = w.event_id
    WHERE o.event_date < %(day)s
    GROUP BY w.employee_id
),
-- With count_booked: planned hours of accepted shifts not logged yet, from the window's
-- start on (query.COUNT_BOOKED_HOURS).
booked_hours AS (
    SELECT i.employee_id, SUM({EXPECTED_HOURS.format(e="o")}) AS hours
    FROM events_event o
    JOIN staffing_invitation i ON i.event_id = o.id
    WHERE %(count_booked)s AND o.event_date >= %(window_start)s AND o.id <> %(event_id)s
      AND i.status = 'accepted'
      AND NOT EXISTS (SELECT 1 FROM staffing_worklog w
                      WHERE w.event_id = i.event_id AND w.employee_id = i.employee_id)
    GROUP BY i.employee_id
),
scored AS MATERIALIZED (
    SELECT p.id, p.role_id, p.is_always_needed,
           COALESCE(wk.window_hours, 0) + COALESCE(bh.hours, 0) AS window_hours, wk.last_worked,
           -- rules.tiebreak: the first 15 hex digits of md5('<event>-<employee>')
           ('x' || substr(md5(%(event_id)s::text || '-' || p.id::text), 1, 15))::bit(60)::bigint AS tiebreak,
           -- Fits an area that lists their role: the ones a role's places go to
           -- (rules.choose), kept apart so the limit below cannot cut them off.
           EXISTS (SELECT 1 FROM areas a
                   WHERE cardinality(a.roles) > 0 AND p.role_id = ANY (a.roles)
                     AND a.skills <@ ARRAY(SELECT es.skill_id FROM people_employeeskill es
                                           WHERE es.employee_id = p.id)) AS fits_listing
    FROM pool p
    LEFT JOIN worked wk ON wk.employee_id = p.id
    LEFT JOIN booked_hours bh ON bh.employee_id = p.id
),
best AS (
    SELECT b.*
    FROM (SELECT DISTINCT role_id, fits_listing FROM scored) roles
    CROSS JOIN LATERAL (
        SELECT s.* FROM scored s
        WHERE s.role_id = roles.role_id AND s.fits_listing = roles.fits_listing
        ORDER BY s.is_always_needed DESC, s.window_hours, s.last_worked NULLS FIRST, s.tiebreak, s.id
        LIMIT %(limit)s
    ) b
)
SELECT b.id, e.name, r.key, b.is_always_needed, b.window_hours, b.last_worked,
       ARRAY(SELECT a.id FROM areas a
             WHERE (cardinality(a.roles) = 0 OR b.role_id = ANY (a.roles))
               AND a.skills <@ ARRAY(SELECT es.skill_id FROM people_employeeskill es
                                     WHERE es.employee_id = b.id)) AS area_ids
FROM best b
JOIN people_employee e ON e.id = b.id
JOIN people_role r ON r.id = b.role_id
"""  # noqa: S608 - only the constant fragments above are formatted in; values are parameters
