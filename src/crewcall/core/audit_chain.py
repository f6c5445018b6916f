"""What erasure may rewrite in the audit trail, in one registry (docs/data-model.md,
"Erasure" and "Tamper evidence").

History tables are append-only. GDPR erasure is the one rewrite: the personal columns of a
person's history rows go to one fixed erased value each, and the `username` in the
context of the rows their own account wrote goes to null. Everything else of a history row
stays as written. The registry below is the one place that says which columns those are;
the SQL that enforces it (trigger check `crewcall_history_update_check`) and the SQL that
does it (`crewcall_employee_erase`) are generated from it when a migration is written, and
a test compares the migrations' SQL with what the registry generates now.

The hash chain over the history (ops/audit_seal.py) commits to those columns instead of
holding them: `canonical_sql` says what a sealed row's hash covers, for the sealer and the
verifier alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pgtrigger

# `{id}` is the history row's pgh_obj_id: the erased name still tells rows apart.
ERASED_EMPLOYEE_NAME = "Anonymised employee {id}"
ERASED_USERNAME = "anonymised-{id}"
# Outbound texts cannot be blank (messaging_outboundmessage__body__not_blank).
ERASED_BODY = "(erased)"
# What scrubbing puts where a name or number stood inside free text or JSON.
ERASED_MARK = "(erased)"

ErasedValue = str | None | dict[str, Any]


@dataclass(frozen=True)
class Erasable:
    """The personal columns of one history table, the value each is erased to, and which
    rows are the person's (an SQL condition over the erase function's variables: `eid` the
    employee, `numbers` their phone numbers, `user_ids` their accounts)."""

    history: str
    columns: dict[str, ErasedValue]
    rows: str
    # The live table's rows, when the erase function blanks them too (None: the service does).
    live_rows: str | None
    # More for the live rows: the account is closed.
    live_extra: str = ""

    @property
    def live(self) -> str:
        return self.history.removesuffix("history")


ERASABLE: tuple[Erasable, ...] = (
    Erasable(
        "people_employeehistory",
        {"name": ERASED_EMPLOYEE_NAME, "phone_number": None, "notes": ""},
        rows="pgh_obj_id = eid",
        live_rows=None,
    ),
    Erasable("people_absencehistory", {"note": ""}, rows="employee_id = eid", live_rows="employee_id = eid"),
    Erasable(
        "staffing_invitationhistory",
        {"pick_reason": ""},
        rows="employee_id = eid",
        live_rows="employee_id = eid",
    ),
    Erasable(
        "staffing_workloghistory", {"note": ""}, rows="employee_id = eid", live_rows="employee_id = eid"
    ),
    Erasable(
        "messaging_outboundmessagehistory",
        {"to_number": "", "body": ERASED_BODY, "template_variables": {}, "error_message": ""},
        rows="employee_id = eid",
        live_rows="employee_id = eid",
    ),
    Erasable(
        "messaging_inboundmessagehistory",
        {"from_number": "", "body": "", "raw": {}, "outcome_detail": ""},
        rows="employee_id = eid OR from_number = ANY(numbers)",
        live_rows="employee_id = eid OR from_number = ANY(numbers)",
    ),
    Erasable(
        "accounts_userhistory",
        {"username": ERASED_USERNAME, "first_name": "", "last_name": "", "email": ""},
        rows="pgh_obj_id = ANY(user_ids)",
        live_rows="id = ANY(user_ids)",
        live_extra=", is_active = false, password = '!erased'",
    ),
)

# Every history table (pghistory's 16); the context of each may lose its `username`.
HISTORY_TABLES: tuple[str, ...] = (
    "accounts_apitokenhistory",
    "accounts_userhistory",
    "events_assignmenthistory",
    "events_eventhistory",
    "events_workareahistory",
    "events_workareaskillhistory",
    "messaging_inboundmessagehistory",
    "messaging_outboundmessagehistory",
    "people_absencehistory",
    "people_employeehistory",
    "people_employeeskillhistory",
    "people_employmenttypelimithistory",
    "people_rolehistory",
    "people_skillhistory",
    "staffing_invitationhistory",
    "staffing_workloghistory",
)


# --------------------------------------------------------------- the hash chain's registry

# pghistory's own context table is chained too (it is upserted within its writing
# transaction, and sealed only after that transaction has ended).
CONTEXT_TABLE = "pghistory_context"
CHAINED: tuple[str, ...] = (*HISTORY_TABLES, CONTEXT_TABLE)
# What sealing writes (and the canonical text leaves out): the row's hash then the chain's
# hash (64 bytes), a random salt per personal value (hex, jsonb) and the commitment to it.
SEAL_COLUMNS: tuple[str, ...] = ("pgh_seal", "pgh_salt", "pgh_commit")
ROW_HASH_BYTES = 32


def chain_key(table: str) -> str:
    """The column that orders a table's rows within one transaction (after pgh_xid)."""
    return "id" if table == CONTEXT_TABLE else "pgh_id"


def context_column(table: str) -> str:
    return "metadata" if table == CONTEXT_TABLE else "pgh_context"


def username_field(table: str) -> str:
    """The name under which the chain commits to the username in a row's context."""
    return f"{context_column(table)}.username"


def personal_fields(table: str) -> dict[str, ErasedValue]:
    """What the chain commits to instead of holding, with its erased value: the registered
    columns, and the username in the context (erased: null or absent)."""
    found: dict[str, ErasedValue] = {}
    for e in ERASABLE:
        if e.history == table:
            found.update(e.columns)
    found[username_field(table)] = None
    return found


OBJ_ID = "'pgh_obj_id'"


def erased_value(value: ErasedValue, obj_id: Any) -> ErasedValue:
    """The erased value of a row with this pgh_obj_id, as JSON decodes it."""
    return value.format(id=obj_id) if isinstance(value, str) else value


def _text_array(items: list[str]) -> str:
    return "ARRAY[" + ", ".join(_literal(i) for i in items) + "]::text[]"


def _seal_array() -> str:
    return ", ".join(_literal(c) for c in SEAL_COLUMNS)


def _cat(op: str) -> str:
    return f"OPERATOR(pg_catalog.{op})"


# Settings the text of a row depends on (timestamps print in the session's time zone, floats
# with its digits): the sealer and the verifier both fix them.
CANONICAL_SETTINGS: tuple[tuple[str, str], ...] = (
    ("TimeZone", "UTC"),
    ("extra_float_digits", "1"),
    ("IntervalStyle", "postgres"),
)


def canonical_sql(table: str, j: str, commit: str) -> str:
    """SQL for the text a sealed row's hash covers: the row as jsonb (`j`) without the seal
    columns and the personal values, its context without the username, and the
    commitments (`commit`). Only pg_catalog's functions and operators, schema-qualified:
    the verifier runs it too, and the owner cannot replace those (nor shadow them)."""
    personal = [f for f in personal_fields(table) if "." not in f]
    ctx = _literal(context_column(table))
    drop = _text_array([*SEAL_COLUMNS, *personal])
    context = (
        f"CASE WHEN pg_catalog.jsonb_typeof({j} {_cat('->')} {ctx}) {_cat('=')} 'object'::text"
        f" THEN ({j} {_cat('->')} {ctx}) {_cat('-')} 'username'::text ELSE {j} {_cat('->')} {ctx} END"
    )
    return (
        f"(({j} {_cat('-')} {drop}) {_cat('||')} pg_catalog.jsonb_build_object("
        f"{ctx}, {context}, 'pgh_commit', {commit}))::text"
    )


def personal_sql(table: str, j: str) -> str:
    """SQL: a jsonb object of the row's personal values (absent ones null)."""
    parts = []
    for field in personal_fields(table):
        column, _, key = field.partition(".")
        value = f"({j} -> {_literal(column)})" + (f" -> {_literal(key)}" if key else "")
        parts.append(f"{_literal(field)}, {value}")
    return "jsonb_build_object(" + ", ".join(parts) + ")"


def erased_jsonb_sql(table: str, j: str) -> str:
    """SQL: a jsonb object of the row's personal values as erasure leaves them."""
    parts = []
    for field, value in personal_fields(table).items():
        if isinstance(value, str):
            erased = f"to_jsonb({erased_sql(value, f'({j} ->> {OBJ_ID})')}::text)"
        else:
            erased = "'{}'::jsonb" if isinstance(value, dict) else "'null'::jsonb"
        parts.append(f"{_literal(field)}, {erased}")
    return "jsonb_build_object(" + ", ".join(parts) + ")"


# Sealing writes the seal columns once (all three, as the owner); after that they stay,
# but for erasure dropping salts.
_SEAL_RULE = """       OR (CASE WHEN old->'pgh_seal' = 'null'::jsonb
                THEN (new->'pgh_seal' <> 'null'::jsonb AND jsonb_typeof(new->'pgh_salt') = 'object'
                      AND jsonb_typeof(new->'pgh_commit') = 'object')
                  OR (new->'pgh_seal' = 'null'::jsonb AND new->'pgh_salt' = old->'pgh_salt'
                      AND new->'pgh_commit' = old->'pgh_commit')
                ELSE new->'pgh_seal' = old->'pgh_seal' AND new->'pgh_commit' = old->'pgh_commit'
                     AND (old->'pgh_salt') @> (new->'pgh_salt') END) IS NOT TRUE THEN
"""


def context_guard_sql() -> str:
    """The guard of pghistory_context (the runtime role may update it: pghistory upserts a
    context within its transaction): never deleted; unsealed, it is the writers' and moves
    to the transaction that wrote it last; sealed, only the owner may seal it and erase its
    username (dropping the salt), nothing else."""
    field = _literal(username_field(CONTEXT_TABLE))
    return f"""
CREATE FUNCTION crewcall_context_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    seal_columns text[] := ARRAY[{_seal_array()}];
    old_row jsonb := to_jsonb(OLD);
    new_row jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;
    END IF;
    new_row := to_jsonb(NEW);
    IF OLD.pgh_seal IS NULL AND NEW.pgh_seal IS NULL THEN
        IF NEW.pgh_salt IS DISTINCT FROM OLD.pgh_salt OR NEW.pgh_commit IS DISTINCT FROM OLD.pgh_commit THEN
            RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;
        END IF;
        NEW.pgh_xid := pg_current_xact_id();  -- sealed after the last transaction that wrote it
        RETURN NEW;
    END IF;
    IF NOT crewcall_is_table_owner(TG_RELID)
       OR NEW.pgh_xid <> OLD.pgh_xid
       OR (OLD.pgh_seal IS NULL AND ((old_row - seal_columns) <> (new_row - seal_columns)
                                     OR jsonb_typeof(NEW.pgh_salt) IS DISTINCT FROM 'object'
                                     OR jsonb_typeof(NEW.pgh_commit) IS DISTINCT FROM 'object'))
       OR (OLD.pgh_seal IS NOT NULL AND (
              NEW.pgh_seal IS DISTINCT FROM OLD.pgh_seal OR NEW.pgh_commit IS DISTINCT FROM OLD.pgh_commit
              OR NOT (OLD.pgh_salt @> NEW.pgh_salt)
              OR (old_row - seal_columns - 'metadata') <> (new_row - seal_columns - 'metadata')
              OR (OLD.metadata - 'username') <> (NEW.metadata - 'username')
              OR (NEW.metadata IS DISTINCT FROM OLD.metadata
                  AND (NEW.metadata->'username' IS DISTINCT FROM 'null'::jsonb OR NEW.pgh_salt ? {field}))))
    THEN
        RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END
$$;
"""


def erased_name(employee_id: int) -> str:
    return ERASED_EMPLOYEE_NAME.format(id=employee_id)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def erased_sql(value: ErasedValue, obj_id: str) -> str:
    """The erased value as SQL text (`obj_id`: SQL for the row's pgh_obj_id as text)."""
    if value is None:
        return "NULL"
    if isinstance(value, dict):
        return _literal("{}") + "::jsonb"
    if "{id}" in value:
        before, after = value.split("{id}", 1)
        return f"({_literal(before)} || {obj_id} || {_literal(after)})"
    return _literal(value)


NEW_OBJ_ID = "(new->>'pgh_obj_id')"


def update_check_sql() -> str:
    """The check every UPDATE of a history row passes (called by its BEFORE UPDATE trigger):
    only the table's owner (a definer function), and only erasure's rewrite."""
    cases = "\n".join(
        f"        WHEN {_literal(e.history)} THEN jsonb_build_object("
        + ", ".join(f"{_literal(c)}, {erased_sql(v, NEW_OBJ_ID)}" for c, v in e.columns.items())
        + ")"
        for e in ERASABLE
    )
    return f"""
CREATE FUNCTION crewcall_history_update_check(tbl text, relid oid, old jsonb, new jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    erased jsonb := CASE tbl
{cases}
        ELSE '{{}}'::jsonb END;
    -- Generated columns are not computed yet in a BEFORE trigger (null in new): they follow
    -- the columns they are computed from, which are compared.
    fixed text[] := ARRAY(SELECT jsonb_object_keys(erased)) || ARRAY['pgh_context', {_seal_array()}]
        || ARRAY(SELECT a.attname::text FROM pg_attribute a
                 WHERE a.attrelid = relid AND a.attgenerated <> '');
    -- A context is an object, or null when raw SQL wrote the row.
    old_context jsonb := CASE jsonb_typeof(old->'pgh_context') WHEN 'object' THEN old->'pgh_context' END;
    new_context jsonb := CASE jsonb_typeof(new->'pgh_context') WHEN 'object' THEN new->'pgh_context' END;
    col text;
BEGIN
    IF NOT crewcall_is_table_owner(relid)
       OR (old - fixed) IS DISTINCT FROM (new - fixed)
       OR (old->'pgh_context') IS DISTINCT FROM (new->'pgh_context') AND (
              old_context IS NULL OR new_context IS NULL
              OR old_context - 'username' IS DISTINCT FROM new_context - 'username'
              OR new_context->'username' IS DISTINCT FROM 'null'::jsonb)
{_SEAL_RULE}        RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', tbl;
    END IF;
    FOR col IN SELECT jsonb_object_keys(erased) LOOP
        IF new->col IS DISTINCT FROM old->col AND new->col IS DISTINCT FROM erased->col THEN
            RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', tbl;
        END IF;
    END LOOP;
END
$$;
"""  # noqa: S608 - names from the registry, values are literals


def _set_list(e: Erasable, obj_id: str) -> str:
    return ", ".join(f"{c} = {erased_sql(v, obj_id)}" for c, v in e.columns.items())


def erase_function_sql() -> str:
    """`crewcall_employee_erase(employee_id)`: blanks one person's data everywhere the
    runtime role may not (history, immutable inbound messages) and wherever it was copied
    (idempotent answers, job arguments, admin log, axes, integrity runs, contexts)."""
    live = "\n".join(
        f"    UPDATE {e.live} SET {_set_list(e, 'id::text')}{e.live_extra} WHERE {e.live_rows};"  # noqa: S608
        "\n    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;"
        for e in ERASABLE
        if e.live_rows is not None
    )
    history = "\n".join(
        f"    UPDATE {e.history} SET {_set_list(e, 'pgh_obj_id::text')},"  # noqa: S608
        f" pgh_salt = pgh_salt - {_text_array(list(e.columns))} WHERE {e.rows};"
        "\n    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;"
        for e in ERASABLE
    )
    contexts = "\n".join(
        f"    UPDATE {t} SET pgh_context = jsonb_set(pgh_context, '{{username}}', 'null'),"  # noqa: S608
        f" pgh_salt = pgh_salt - {_literal(username_field(t))}"
        f" WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;"
        for t in HISTORY_TABLES
    )
    return f"""
CREATE FUNCTION crewcall_scrub(t text, needles text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
DECLARE
    needle text;
BEGIN
    -- Longest first, so a number with its + goes before the same digits without.
    FOR needle IN SELECT x FROM unnest(needles) x ORDER BY length(x) DESC, x LOOP
        t := replace(t, needle, {_literal(ERASED_MARK)});
    END LOOP;
    RETURN t;
END
$$;

CREATE FUNCTION crewcall_employee_erase(employee_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    eid bigint := $1;
    numbers text[];
    user_ids bigint[];
    user_keys text[];
    needles text[];
    n bigint;
    affected bigint := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM people_employee e WHERE e.id = eid AND e.anonymised_at IS NOT NULL) THEN
        RAISE EXCEPTION 'employee % is not anonymised', eid;
    END IF;
    -- The person's numbers and accounts, as the history recorded them.
    SELECT COALESCE(array_agg(DISTINCT x), '{{}}') INTO numbers FROM (
        SELECT h.phone_number AS x FROM people_employeehistory h WHERE h.pgh_obj_id = eid
        UNION SELECT m.to_number FROM messaging_outboundmessagehistory m WHERE m.employee_id = eid
        UNION SELECT m.from_number FROM messaging_inboundmessagehistory m WHERE m.employee_id = eid
    ) s WHERE x IS NOT NULL AND x <> '';
    SELECT COALESCE(array_agg(DISTINCT h.user_id), '{{}}') INTO user_ids
    FROM people_employeehistory h WHERE h.pgh_obj_id = eid AND h.user_id IS NOT NULL;
    user_keys := user_ids::text[];
    -- What may have been copied into free text and JSON elsewhere (short ones would hit
    -- unrelated text).
    SELECT COALESCE(array_agg(DISTINCT x), '{{}}') INTO needles FROM (
        SELECT unnest(numbers) AS x
        UNION SELECT ltrim(unnest(numbers), '+')
        UNION SELECT h.name FROM people_employeehistory h WHERE h.pgh_obj_id = eid
        UNION SELECT h.notes FROM people_employeehistory h WHERE h.pgh_obj_id = eid
        UNION SELECT a.note FROM people_absencehistory a WHERE a.employee_id = eid
        UNION SELECT m.body FROM messaging_inboundmessagehistory m WHERE m.employee_id = eid
        UNION SELECT u.username FROM accounts_userhistory u WHERE u.pgh_obj_id = ANY(user_ids)
        UNION SELECT u.email FROM accounts_userhistory u WHERE u.pgh_obj_id = ANY(user_ids)
        UNION SELECT trim(u.first_name || ' ' || u.last_name) FROM accounts_userhistory u
              WHERE u.pgh_obj_id = ANY(user_ids)
    ) s WHERE length(x) >= 5 AND x <> ({_literal(ERASED_EMPLOYEE_NAME.split("{id}")[0])} || eid)
          AND x NOT LIKE {_literal(ERASED_USERNAME.split("{id}")[0] + "%")};

{live}
{history}
{contexts}
    UPDATE pghistory_context SET metadata = jsonb_set(metadata, '{{username}}', 'null'),
           pgh_salt = pgh_salt - {_literal(username_field(CONTEXT_TABLE))}
    WHERE metadata->>'user' = ANY(user_keys) AND metadata->>'username' IS NOT NULL;

    IF cardinality(needles) > 0 THEN
        UPDATE core_idempotencykey k
        SET body = convert_to(crewcall_scrub(convert_from(k.body, 'UTF8'), needles), 'UTF8')
        WHERE EXISTS (SELECT 1 FROM unnest(needles) nd WHERE position(convert_to(nd, 'UTF8') IN k.body) > 0);
        GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
        UPDATE procrastinate_jobs j SET args = crewcall_scrub(j.args::text, needles)::jsonb
        WHERE EXISTS (SELECT 1 FROM unnest(needles) nd WHERE position(nd IN j.args::text) > 0);
        GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
        UPDATE django_admin_log a SET object_repr = crewcall_scrub(a.object_repr, needles),
               change_message = crewcall_scrub(a.change_message, needles)
        WHERE EXISTS (SELECT 1 FROM unnest(needles) nd
                      WHERE position(nd IN a.object_repr) > 0 OR position(nd IN a.change_message) > 0);
        GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
        UPDATE axes_accessattempt a SET username = crewcall_scrub(a.username, needles),
               get_data = crewcall_scrub(a.get_data, needles),
               post_data = crewcall_scrub(a.post_data, needles)
        WHERE EXISTS (SELECT 1 FROM unnest(needles) nd WHERE position(nd IN
                      concat_ws(' ', a.username, a.get_data, a.post_data)) > 0);
        GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
        UPDATE axes_accesslog a SET username = crewcall_scrub(a.username, needles)
        WHERE a.username = ANY(needles);
        GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
        UPDATE axes_accessfailurelog a SET username = crewcall_scrub(a.username, needles)
        WHERE a.username = ANY(needles);
        GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
        UPDATE ops_integrityrun r SET summary = crewcall_scrub(r.summary::text, needles)::jsonb
        WHERE EXISTS (SELECT 1 FROM unnest(needles) nd WHERE position(nd IN r.summary::text) > 0);
        GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    END IF;
    UPDATE django_admin_log a SET object_repr = {_literal(ERASED_MARK)}
    WHERE a.object_repr <> {_literal(ERASED_MARK)} AND (
          (a.content_type_id = (SELECT id FROM django_content_type
                                WHERE app_label = 'people' AND model = 'employee')
                                AND a.object_id = eid::text)
       OR (a.content_type_id = (SELECT id FROM django_content_type
                                WHERE app_label = 'accounts' AND model = 'user')
                                AND a.object_id = ANY(user_keys)));

    PERFORM crewcall_privileged_call_record('crewcall_employee_erase',
        jsonb_build_object('employee_id', eid), affected);
    RETURN affected;
END
$$;
REVOKE EXECUTE ON FUNCTION crewcall_employee_erase(bigint) FROM PUBLIC;
"""  # noqa: S608 - names from the registry, values are literals


def history_meta() -> dict[str, Any]:
    """Meta for pghistory.track: history rows are never deleted, and an UPDATE passes only
    `crewcall_history_update_check` (erasure, by the owner)."""
    return {
        "triggers": [
            pgtrigger.Protect(name="append_only_delete", operation=pgtrigger.Delete),
            pgtrigger.Trigger(
                name="append_only_update",
                operation=pgtrigger.Update,
                when=pgtrigger.Before,
                func="PERFORM crewcall_history_update_check(TG_TABLE_NAME::text, TG_RELID,"
                " to_jsonb(OLD), to_jsonb(NEW)); RETURN NEW;",
            ),
        ]
    }
