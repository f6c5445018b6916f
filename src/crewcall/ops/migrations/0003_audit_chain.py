"""Tamper evidence: every history row (and pghistory's context table) joins a hash chain
per table (docs/data-model.md, "Tamper evidence"; crewcall/ops/audit_seal.py).

- Columns (unknown to the models): `pgh_xid` (the writing transaction, a default: inserts
  stay as cheap as they were), `pgh_seal` (the row's hash and the chain hash), `pgh_salt`
  and `pgh_commit` (a random salt and a commitment per personal value), and an index on
  (pgh_xid, key), the chain's order.
- `crewcall_audit_seal(max_rows)` (SECURITY DEFINER) seals rows below the change feed's
  horizon, with its helper `crewcall_audit_commitments`.
- The history update check lets sealing through (the seal columns from null to a value, as
  the owner) and erasure's dropping of salts; the erase function drops the salts of what it
  erases; pghistory_context gets a guard of its own.

The SQL below was generated from crewcall/core/audit_chain.py and crewcall/ops/audit_seal.py
when this migration was written; tests compare it with what they generate now.
"""

import importlib

from django.db import migrations

guard = importlib.import_module("crewcall.people.migrations.0004_history_guard")
erase = importlib.import_module("crewcall.people.migrations.0005_employee_erase")

TABLES = (
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
    "pghistory_context",
)


def _key(table: str) -> str:
    return "id" if table == "pghistory_context" else "pgh_id"


COLUMNS = "".join(
    f"""
ALTER TABLE {t} ADD COLUMN pgh_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    ADD COLUMN pgh_seal bytea, ADD COLUMN pgh_salt jsonb, ADD COLUMN pgh_commit jsonb;
CREATE INDEX {t}_chain ON {t} (pgh_xid, {_key(t)});
"""
    for t in TABLES
)
DROP_COLUMNS = "".join(
    f"""
DROP INDEX {t}_chain;
ALTER TABLE {t} DROP COLUMN pgh_xid, DROP COLUMN pgh_seal, DROP COLUMN pgh_salt, DROP COLUMN pgh_commit;
"""
    for t in TABLES
)

UPDATE_CHECK = """
CREATE FUNCTION crewcall_history_update_check(tbl text, relid oid, old jsonb, new jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    erased jsonb := CASE tbl
        WHEN 'people_employeehistory' THEN jsonb_build_object('name', ('Anonymised employee ' || (new->>'pgh_obj_id') || ''), 'phone_number', NULL, 'notes', '')
        WHEN 'people_absencehistory' THEN jsonb_build_object('note', '')
        WHEN 'staffing_invitationhistory' THEN jsonb_build_object('pick_reason', '')
        WHEN 'staffing_workloghistory' THEN jsonb_build_object('note', '')
        WHEN 'messaging_outboundmessagehistory' THEN jsonb_build_object('to_number', '', 'body', '(erased)', 'template_variables', '{}'::jsonb, 'error_message', '')
        WHEN 'messaging_inboundmessagehistory' THEN jsonb_build_object('from_number', '', 'body', '', 'raw', '{}'::jsonb, 'outcome_detail', '')
        WHEN 'accounts_userhistory' THEN jsonb_build_object('username', ('anonymised-' || (new->>'pgh_obj_id') || ''), 'first_name', '', 'last_name', '', 'email', '')
        ELSE '{}'::jsonb END;
    -- Generated columns are not computed yet in a BEFORE trigger (null in new): they follow
    -- the columns they are computed from, which are compared.
    fixed text[] := ARRAY(SELECT jsonb_object_keys(erased)) || ARRAY['pgh_context', 'pgh_seal', 'pgh_salt', 'pgh_commit']
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
       OR (CASE WHEN old->'pgh_seal' = 'null'::jsonb
                THEN (new->'pgh_seal' <> 'null'::jsonb AND jsonb_typeof(new->'pgh_salt') = 'object'
                      AND jsonb_typeof(new->'pgh_commit') = 'object')
                  OR (new->'pgh_seal' = 'null'::jsonb AND new->'pgh_salt' = old->'pgh_salt'
                      AND new->'pgh_commit' = old->'pgh_commit')
                ELSE new->'pgh_seal' = old->'pgh_seal' AND new->'pgh_commit' = old->'pgh_commit'
                     AND (old->'pgh_salt') @> (new->'pgh_salt') END) IS NOT TRUE THEN
        RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', tbl;
    END IF;
    FOR col IN SELECT jsonb_object_keys(erased) LOOP
        IF new->col IS DISTINCT FROM old->col AND new->col IS DISTINCT FROM erased->col THEN
            RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', tbl;
        END IF;
    END LOOP;
END
$$;
"""

ERASE = """
CREATE FUNCTION crewcall_scrub(t text, needles text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
DECLARE
    needle text;
BEGIN
    -- Longest first, so a number with its + goes before the same digits without.
    FOR needle IN SELECT x FROM unnest(needles) x ORDER BY length(x) DESC, x LOOP
        t := replace(t, needle, '(erased)');
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
    SELECT COALESCE(array_agg(DISTINCT x), '{}') INTO numbers FROM (
        SELECT h.phone_number AS x FROM people_employeehistory h WHERE h.pgh_obj_id = eid
        UNION SELECT m.to_number FROM messaging_outboundmessagehistory m WHERE m.employee_id = eid
        UNION SELECT m.from_number FROM messaging_inboundmessagehistory m WHERE m.employee_id = eid
    ) s WHERE x IS NOT NULL AND x <> '';
    SELECT COALESCE(array_agg(DISTINCT h.user_id), '{}') INTO user_ids
    FROM people_employeehistory h WHERE h.pgh_obj_id = eid AND h.user_id IS NOT NULL;
    user_keys := user_ids::text[];
    -- What may have been copied into free text and JSON elsewhere (short ones would hit
    -- unrelated text).
    SELECT COALESCE(array_agg(DISTINCT x), '{}') INTO needles FROM (
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
    ) s WHERE length(x) >= 5 AND x <> ('Anonymised employee ' || eid)
          AND x NOT LIKE 'anonymised-%';

    UPDATE people_absence SET note = '' WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE staffing_invitation SET pick_reason = '' WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE staffing_worklog SET note = '' WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE messaging_outboundmessage SET to_number = '', body = '(erased)', template_variables = '{}'::jsonb, error_message = '' WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE messaging_inboundmessage SET from_number = '', body = '', raw = '{}'::jsonb, outcome_detail = '' WHERE employee_id = eid OR from_number = ANY(numbers);
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE accounts_user SET username = ('anonymised-' || id::text || ''), first_name = '', last_name = '', email = '', is_active = false, password = '!erased' WHERE id = ANY(user_ids);
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE people_employeehistory SET name = ('Anonymised employee ' || pgh_obj_id::text || ''), phone_number = NULL, notes = '', pgh_salt = pgh_salt - ARRAY['name', 'phone_number', 'notes']::text[] WHERE pgh_obj_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE people_absencehistory SET note = '', pgh_salt = pgh_salt - ARRAY['note']::text[] WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE staffing_invitationhistory SET pick_reason = '', pgh_salt = pgh_salt - ARRAY['pick_reason']::text[] WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE staffing_workloghistory SET note = '', pgh_salt = pgh_salt - ARRAY['note']::text[] WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE messaging_outboundmessagehistory SET to_number = '', body = '(erased)', template_variables = '{}'::jsonb, error_message = '', pgh_salt = pgh_salt - ARRAY['to_number', 'body', 'template_variables', 'error_message']::text[] WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE messaging_inboundmessagehistory SET from_number = '', body = '', raw = '{}'::jsonb, outcome_detail = '', pgh_salt = pgh_salt - ARRAY['from_number', 'body', 'raw', 'outcome_detail']::text[] WHERE employee_id = eid OR from_number = ANY(numbers);
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE accounts_userhistory SET username = ('anonymised-' || pgh_obj_id::text || ''), first_name = '', last_name = '', email = '', pgh_salt = pgh_salt - ARRAY['username', 'first_name', 'last_name', 'email']::text[] WHERE pgh_obj_id = ANY(user_ids);
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE accounts_apitokenhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE accounts_userhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE events_assignmenthistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE events_eventhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE events_workareahistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE events_workareaskillhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE messaging_inboundmessagehistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE messaging_outboundmessagehistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_absencehistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_employeehistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_employeeskillhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_employmenttypelimithistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_rolehistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_skillhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE staffing_invitationhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE staffing_workloghistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null'), pgh_salt = pgh_salt - 'pgh_context.username' WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE pghistory_context SET metadata = jsonb_set(metadata, '{username}', 'null'),
           pgh_salt = pgh_salt - 'metadata.username'
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
    UPDATE django_admin_log a SET object_repr = '(erased)'
    WHERE a.object_repr <> '(erased)' AND (
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
"""

CONTEXT_GUARD = """
CREATE FUNCTION crewcall_context_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    seal_columns text[] := ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit'];
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
                  AND (NEW.metadata->'username' IS DISTINCT FROM 'null'::jsonb OR NEW.pgh_salt ? 'metadata.username'))))
    THEN
        RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END
$$;
"""

CONTEXT_TRIGGER = """
CREATE TRIGGER crewcall_context_guard BEFORE UPDATE OR DELETE ON pghistory_context
FOR EACH ROW EXECUTE FUNCTION crewcall_context_guard();
"""

COMMITMENTS = """
CREATE FUNCTION crewcall_audit_commitments(personal jsonb, erased jsonb, OUT salts jsonb, OUT commits jsonb)
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
-- A random salt and sha256(salt || value) for every personal value that is not already in
-- its erased form (an erased value needs no secret: the verifier checks its form).
DECLARE
    field text;
    value jsonb;
    salt bytea;
BEGIN
    salts := '{}'::jsonb;
    commits := '{}'::jsonb;
    FOR field, value IN SELECT p.key, p.value FROM jsonb_each(personal) p LOOP
        IF value IS NOT DISTINCT FROM erased->field THEN
            CONTINUE;
        END IF;
        salt := uuid_send(gen_random_uuid());
        salts := salts || jsonb_build_object(field, encode(salt, 'hex'));
        commits := commits || jsonb_build_object(
            field, encode(sha256(salt || convert_to(value::text, 'UTF8')), 'hex'));
    END LOOP;
END
$$;
"""

SEAL = """
CREATE FUNCTION crewcall_audit_seal(max_rows integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
SET TimeZone = 'UTC' SET extra_float_digits = '1' SET IntervalStyle = 'postgres' AS $$
DECLARE
    horizon xid8;
    chain bytea;
    row_hash bytea;
    head_xid xid8;
    head_int bigint;
    head_uuid uuid;
    int_keys bigint[];
    uuid_keys uuid[];
    seals bytea[];
    salts jsonb[];
    commits jsonb[];
    r record;
    n bigint;
    affected bigint := 0;
BEGIN
    IF max_rows IS NULL OR max_rows < 1 THEN
        RAISE EXCEPTION 'max_rows must be at least 1';
    END IF;
    -- Two sealers would chain the same rows twice.
    PERFORM pg_advisory_xact_lock(hashtext('crewcall_audit_seal'));
    -- Every row of a lower transaction id is committed and visible now, or never will be.
    horizon := changes_horizon();

    -- accounts_apitokenhistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM accounts_apitokenhistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM accounts_apitokenhistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE accounts_apitokenhistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- accounts_userhistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM accounts_userhistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit', 'username', 'first_name', 'last_name', 'email']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM accounts_userhistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('username', (s.j -> 'username'), 'first_name', (s.j -> 'first_name'), 'last_name', (s.j -> 'last_name'), 'email', (s.j -> 'email'), 'pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('username', to_jsonb(('anonymised-' || (s.j ->> 'pgh_obj_id') || '')::text), 'first_name', to_jsonb(''::text), 'last_name', to_jsonb(''::text), 'email', to_jsonb(''::text), 'pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE accounts_userhistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- events_assignmenthistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM events_assignmenthistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM events_assignmenthistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE events_assignmenthistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- events_eventhistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM events_eventhistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM events_eventhistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE events_eventhistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- events_workareahistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM events_workareahistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM events_workareahistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE events_workareahistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- events_workareaskillhistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM events_workareaskillhistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM events_workareaskillhistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE events_workareaskillhistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- messaging_inboundmessagehistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM messaging_inboundmessagehistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit', 'from_number', 'body', 'raw', 'outcome_detail']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM messaging_inboundmessagehistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('from_number', (s.j -> 'from_number'), 'body', (s.j -> 'body'), 'raw', (s.j -> 'raw'), 'outcome_detail', (s.j -> 'outcome_detail'), 'pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('from_number', to_jsonb(''::text), 'body', to_jsonb(''::text), 'raw', '{}'::jsonb, 'outcome_detail', to_jsonb(''::text), 'pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE messaging_inboundmessagehistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- messaging_outboundmessagehistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM messaging_outboundmessagehistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit', 'to_number', 'body', 'template_variables', 'error_message']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM messaging_outboundmessagehistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('to_number', (s.j -> 'to_number'), 'body', (s.j -> 'body'), 'template_variables', (s.j -> 'template_variables'), 'error_message', (s.j -> 'error_message'), 'pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('to_number', to_jsonb(''::text), 'body', to_jsonb('(erased)'::text), 'template_variables', '{}'::jsonb, 'error_message', to_jsonb(''::text), 'pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE messaging_outboundmessagehistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- people_absencehistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM people_absencehistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit', 'note']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM people_absencehistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('note', (s.j -> 'note'), 'pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('note', to_jsonb(''::text), 'pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE people_absencehistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- people_employeehistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM people_employeehistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit', 'name', 'phone_number', 'notes']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM people_employeehistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('name', (s.j -> 'name'), 'phone_number', (s.j -> 'phone_number'), 'notes', (s.j -> 'notes'), 'pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('name', to_jsonb(('Anonymised employee ' || (s.j ->> 'pgh_obj_id') || '')::text), 'phone_number', 'null'::jsonb, 'notes', to_jsonb(''::text), 'pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE people_employeehistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- people_employeeskillhistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM people_employeeskillhistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM people_employeeskillhistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE people_employeeskillhistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- people_employmenttypelimithistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM people_employmenttypelimithistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM people_employmenttypelimithistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE people_employmenttypelimithistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- people_rolehistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM people_rolehistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM people_rolehistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE people_rolehistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- people_skillhistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM people_skillhistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM people_skillhistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE people_skillhistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- staffing_invitationhistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM staffing_invitationhistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit', 'pick_reason']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM staffing_invitationhistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('pick_reason', (s.j -> 'pick_reason'), 'pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('pick_reason', to_jsonb(''::text), 'pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE staffing_invitationhistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- staffing_workloghistory
    chain := NULL; head_xid := NULL; head_int := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.pgh_id INTO chain, head_xid, head_int
    FROM staffing_workloghistory h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.pgh_id DESC LIMIT 1;
    int_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit', 'note']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('pgh_context', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'pgh_context') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'pgh_context' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.pgh_id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM staffing_workloghistory t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.pgh_id) > (head_xid, head_int))
              ORDER BY t.pgh_xid, t.pgh_id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('note', (s.j -> 'note'), 'pgh_context.username', (s.j -> 'pgh_context') -> 'username'), jsonb_build_object('note', to_jsonb(''::text), 'pgh_context.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        int_keys := int_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE staffing_workloghistory t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(int_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.pgh_id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- pghistory_context
    chain := NULL; head_xid := NULL; head_uuid := NULL;
    SELECT substring(h.pgh_seal FROM 33), h.pgh_xid, h.id INTO chain, head_xid, head_uuid
    FROM pghistory_context h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.id DESC LIMIT 1;
    uuid_keys := '{}'; seals := '{}'; salts := '{}'; commits := '{}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, ((s.j OPERATOR(pg_catalog.-) ARRAY['pgh_seal', 'pgh_salt', 'pgh_commit']::text[]) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('metadata', CASE WHEN pg_catalog.jsonb_typeof(s.j OPERATOR(pg_catalog.->) 'metadata') OPERATOR(pg_catalog.=) 'object'::text THEN (s.j OPERATOR(pg_catalog.->) 'metadata') OPERATOR(pg_catalog.-) 'username'::text ELSE s.j OPERATOR(pg_catalog.->) 'metadata' END, 'pgh_commit', c.commits))::text AS canonical
        FROM (SELECT t.id AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM pghistory_context t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.id) > (head_xid, head_uuid))
              ORDER BY t.pgh_xid, t.id LIMIT max_rows FOR UPDATE) s,
             LATERAL crewcall_audit_commitments(jsonb_build_object('metadata.username', (s.j -> 'metadata') -> 'username'), jsonb_build_object('metadata.username', 'null'::jsonb)) c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        uuid_keys := uuid_keys || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE pghistory_context t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest(uuid_keys, seals, salts, commits) u (k, seal, salt, cm) WHERE t.id = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;

    -- Recorded when it sealed something: a call every minute that finds nothing new is
    -- no privileged write.
    IF affected > 0 THEN
        PERFORM crewcall_privileged_call_record('crewcall_audit_seal',
            jsonb_build_object('max_rows', max_rows), affected);
    END IF;
    RETURN affected;
END
$$;
REVOKE EXECUTE ON FUNCTION crewcall_audit_seal(integer) FROM PUBLIC;
"""

DROP_CHECK = "DROP FUNCTION crewcall_history_update_check(text, oid, jsonb, jsonb);"
DROP_ERASE = "DROP FUNCTION crewcall_employee_erase(bigint); DROP FUNCTION crewcall_scrub(text, text[]);"


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_history_guard"),
        ("changes", "0005_privileged_feed_writes"),
        ("core", "0003_privileged_calls"),
        ("events", "0004_history_guard"),
        ("messaging", "0007_history_guard"),
        ("ops", "0002_canary_runs"),
        ("people", "0005_employee_erase"),
        ("pghistory", "0007_auto_20250421_0444"),
        ("staffing", "0004_history_guard"),
    ]

    operations = [
        migrations.RunSQL(COLUMNS, DROP_COLUMNS),
        migrations.RunSQL(DROP_CHECK + UPDATE_CHECK, DROP_CHECK + guard.UPDATE_CHECK),
        migrations.RunSQL(DROP_ERASE + ERASE, DROP_ERASE + erase.ERASE),
        migrations.RunSQL(
            CONTEXT_GUARD + CONTEXT_TRIGGER,
            "DROP TRIGGER crewcall_context_guard ON pghistory_context;"
            " DROP FUNCTION crewcall_context_guard();",
        ),
        migrations.RunSQL(COMMITMENTS, "DROP FUNCTION crewcall_audit_commitments(jsonb, jsonb);"),
        migrations.RunSQL(SEAL, "DROP FUNCTION crewcall_audit_seal(integer);"),
    ]
