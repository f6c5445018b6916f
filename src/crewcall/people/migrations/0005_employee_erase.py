"""`crewcall_employee_erase(employee_id)`: GDPR erasure that reaches every copy.

One SECURITY DEFINER function (it runs as the owner) finds a person's rows itself from
the employee id, through their numbers and accounts as the history recorded them, and
blanks them in every table and every history row: absences, invitations' pick reasons,
work-log notes, outbound and inbound messages, the linked account, the account's name in
history contexts, and names or numbers copied into idempotent answers, queued job
arguments, the admin log, axes logs and integrity runs. Statistics stay (hours, counts,
statuses, timestamps). Generated from crewcall/core/audit_chain.py (ERASABLE) when this
migration was written; a test compares the two.
"""

from django.db import migrations

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
    UPDATE people_employeehistory SET name = ('Anonymised employee ' || pgh_obj_id::text || ''), phone_number = NULL, notes = '' WHERE pgh_obj_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE people_absencehistory SET note = '' WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE staffing_invitationhistory SET pick_reason = '' WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE staffing_workloghistory SET note = '' WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE messaging_outboundmessagehistory SET to_number = '', body = '(erased)', template_variables = '{}'::jsonb, error_message = '' WHERE employee_id = eid;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE messaging_inboundmessagehistory SET from_number = '', body = '', raw = '{}'::jsonb, outcome_detail = '' WHERE employee_id = eid OR from_number = ANY(numbers);
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE accounts_userhistory SET username = ('anonymised-' || pgh_obj_id::text || ''), first_name = '', last_name = '', email = '' WHERE pgh_obj_id = ANY(user_ids);
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;
    UPDATE accounts_apitokenhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE accounts_userhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE events_assignmenthistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE events_eventhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE events_workareahistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE events_workareaskillhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE messaging_inboundmessagehistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE messaging_outboundmessagehistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_absencehistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_employeehistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_employeeskillhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_employmenttypelimithistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_rolehistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE people_skillhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE staffing_invitationhistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE staffing_workloghistory SET pgh_context = jsonb_set(pgh_context, '{username}', 'null') WHERE pgh_context->>'user' = ANY(user_keys) AND pgh_context->>'username' IS NOT NULL;
    UPDATE pghistory_context SET metadata = jsonb_set(metadata, '{username}', 'null')
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


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0004_history_guard"),
        ("messaging", "0007_history_guard"),
        ("staffing", "0004_history_guard"),
        ("events", "0004_history_guard"),
        ("accounts", "0005_history_guard"),
        ("core", "0003_privileged_calls"),
        ("ops", "0002_canary_runs"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("axes", "0010_accessattemptexpiration"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [
        migrations.RunSQL(
            ERASE,
            "DROP FUNCTION crewcall_employee_erase(bigint); DROP FUNCTION crewcall_scrub(text, text[]);",
        ),
    ]
