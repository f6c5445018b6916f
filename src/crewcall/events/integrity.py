"""Integrity checks of work areas (docs/integrity.md), registered for `crewcall integrity`.
Checks of who is asked and placed are staffing's (staffing/integrity.py)."""

from __future__ import annotations

from crewcall.core.integrity import Check, register

register(
    Check(
        id="work_area.role_requirements_shape",
        severity="error",
        description="role_requirements must be a JSON object of catalogue role key -> positive "
        "whole number, summing to at most max_capacity.",
        sql="""
        SELECT 'work_area', w.id, 'role_requirements is not an object', 'object',
               jsonb_typeof(w.role_requirements)
        FROM events_workarea w WHERE jsonb_typeof(w.role_requirements) <> 'object'
        UNION ALL
        SELECT 'work_area', w.id, 'count for role ' || r.key || ' is not a positive whole number',
               'positive integer', r.value::text
        FROM events_workarea w, jsonb_each(w.role_requirements) r
        WHERE jsonb_typeof(w.role_requirements) = 'object'
          AND (jsonb_typeof(r.value) <> 'number' OR r.value::text !~ '^[1-9][0-9]{0,5}$')
        UNION ALL
        SELECT 'work_area', w.id, 'unknown role ' || r.key, 'a catalogue role', r.key
        FROM events_workarea w, jsonb_each(w.role_requirements) r
        WHERE jsonb_typeof(w.role_requirements) = 'object'
          AND NOT EXISTS (SELECT 1 FROM people_role p WHERE p.key = r.key)
        UNION ALL
        SELECT 'work_area', w.id, 'role requirements exceed the capacity',
               '<= ' || w.max_capacity, sum(r.value::text::numeric)::text
        FROM events_workarea w, jsonb_each(w.role_requirements) r
        WHERE jsonb_typeof(w.role_requirements) = 'object' AND jsonb_typeof(r.value) = 'number'
        GROUP BY w.id, w.max_capacity
        HAVING sum(r.value::text::numeric) > w.max_capacity
        """,
        left_because="Which count is right is the dispatcher's call; the work area form shows the rule.",
    )
)
