"""Assignment moves from events to staffing: the model and its history model change app,
their tables stay (db_table), so no row moves.

django-pgtrigger names a trigger and its function after "<app>.<Model>:<trigger>", so the
five triggers of the two tables are renamed (with their hash comment), and the two
content types change app label, keeping their ids: permissions, the admin log and
anything else pointing at them stay valid. events.0005 drops the model from events'
state. Both ways change names only.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
import pghistory.utils
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

# (table, trigger name in events, hash comment in events, in staffing, hash in staffing)
TRIGGERS = [
    (
        "events_assignment",
        "pgtrigger_insert_insert_5b57b",
        "d086bb33884272f6a94c9a7ddf23f33bbc57cc7f",
        "pgtrigger_insert_insert_c3342",
        "9d900aaaea7c5bd170a4bed16cd212382daae3c5",
    ),
    (
        "events_assignment",
        "pgtrigger_update_update_abb29",
        "3837c7c04c3c1aad7a9bbc3db1da8a23265e2633",
        "pgtrigger_update_update_a3113",
        "142d3facfe9076e4022b6aaa2433ae20eace25de",
    ),
    (
        "events_assignment",
        "pgtrigger_delete_delete_08371",
        "94b7f45864a385694456d4404e712213d7cfcc8a",
        "pgtrigger_delete_delete_d4069",
        "ad55dbc7218e864552ce6d4a2fc1b8974fed51e9",
    ),
    (
        "events_assignmenthistory",
        "pgtrigger_append_only_delete_43f94",
        "cfc35fd5d0639bcbe6b54c81c409f0fa51c3fa86",
        "pgtrigger_append_only_delete_f21c7",
        "f6d528960f81286e1fce24c3584ca38fa5c45964",
    ),
    (
        "events_assignmenthistory",
        "pgtrigger_append_only_update_22037",
        "a04f569da7a5cd8765db9e373cd593cff1f96a92",
        "pgtrigger_append_only_update_5fef4",
        "6ba7f14bbbc6f3727784178c3a4c3e642a5cb738",
    ),
]


def _renames(*, to_staffing: bool) -> str:
    statements = []
    for table, old, old_hash, new, new_hash in TRIGGERS:
        src, dst, dst_hash = (old, new, new_hash) if to_staffing else (new, old, old_hash)
        statements += [
            f"ALTER TRIGGER {src} ON {table} RENAME TO {dst};",
            f"ALTER FUNCTION {src}() RENAME TO {dst};",
            f"COMMENT ON TRIGGER {dst} ON {table} IS '{dst_hash}';",
        ]
    return "\n".join(statements)


MODELS = ("assignment", "assignmenthistory")


def _move_content_types(apps, src: str, dst: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        moving = content_type.objects.filter(app_label=src, model=model).first()
        if moving is None:
            continue  # a fresh database: post_migrate creates the content types later
        # A row for dst exists only if post_migrate created one while the state was
        # elsewhere; it holds nothing but its default permissions.
        content_type.objects.filter(app_label=dst, model=model).delete()
        moving.app_label = dst
        moving.save(update_fields=["app_label"])


def content_types_to_staffing(apps, schema_editor) -> None:
    _move_content_types(apps, "events", "staffing")


def content_types_to_events(apps, schema_editor) -> None:
    _move_content_types(apps, "staffing", "events")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("events", "0004_history_guard"),
        ("people", "0005_employee_erase"),
        ("staffing", "0004_history_guard"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Assignment",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                db_default=django.db.models.functions.datetime.Now(), editable=False
                            ),
                        ),
                        (
                            "updated_at",
                            models.DateTimeField(
                                db_default=django.db.models.functions.datetime.Now(), editable=False
                            ),
                        ),
                        ("version", models.PositiveIntegerField(db_default=1, editable=False)),
                        (
                            "assigned_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "employee",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="assignments",
                                to="people.employee",
                            ),
                        ),
                        (
                            "event",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="assignments",
                                to="events.event",
                            ),
                        ),
                        (
                            "invitation",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="assignment",
                                to="staffing.invitation",
                            ),
                        ),
                        (
                            "role",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="assignments",
                                to="people.role",
                            ),
                        ),
                        (
                            "work_area",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="assignments",
                                to="events.workarea",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "events_assignment",
                    },
                ),
                migrations.CreateModel(
                    name="AssignmentHistory",
                    fields=[
                        ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                        ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                        ("pgh_label", models.TextField(help_text="The event label.")),
                        ("pgh_context", pghistory.utils.JSONField(null=True)),
                        ("pgh_context_id", models.UUIDField(null=True)),
                        ("id", models.BigIntegerField()),
                        (
                            "created_at",
                            models.DateTimeField(
                                db_default=django.db.models.functions.datetime.Now(), editable=False
                            ),
                        ),
                        (
                            "updated_at",
                            models.DateTimeField(
                                db_default=django.db.models.functions.datetime.Now(), editable=False
                            ),
                        ),
                        ("version", models.PositiveIntegerField(db_default=1, editable=False)),
                        (
                            "assigned_by",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                related_query_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "employee",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                related_query_name="+",
                                to="people.employee",
                            ),
                        ),
                        (
                            "event",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                related_query_name="+",
                                to="events.event",
                            ),
                        ),
                        (
                            "invitation",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                related_query_name="+",
                                to="staffing.invitation",
                            ),
                        ),
                        (
                            "pgh_obj",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="history",
                                to="staffing.assignment",
                            ),
                        ),
                        (
                            "role",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                related_query_name="+",
                                to="people.role",
                            ),
                        ),
                        (
                            "work_area",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                related_query_name="+",
                                to="events.workarea",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "events_assignmenthistory",
                        "abstract": False,
                    },
                ),
                migrations.AddConstraint(
                    model_name="assignment",
                    constraint=models.UniqueConstraint(
                        fields=("event", "employee"), name="events_assignment__employee__unique_in_event"
                    ),
                ),
                pgtrigger.migrations.AddTrigger(
                    model_name="assignment",
                    trigger=pgtrigger.compiler.Trigger(
                        name="insert_insert",
                        sql=pgtrigger.compiler.UpsertTriggerSql(
                            func='INSERT INTO "events_assignmenthistory" ("assigned_by_id", "created_at", "employee_id", "event_id", "id", "invitation_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role_id", "updated_at", "version", "work_area_id") VALUES (NEW."assigned_by_id", NEW."created_at", NEW."employee_id", NEW."event_id", NEW."id", NEW."invitation_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."role_id", NEW."updated_at", NEW."version", NEW."work_area_id"); RETURN NULL;',
                            hash="9d900aaaea7c5bd170a4bed16cd212382daae3c5",
                            operation="INSERT",
                            pgid="pgtrigger_insert_insert_c3342",
                            table="events_assignment",
                            when="AFTER",
                        ),
                    ),
                ),
                pgtrigger.migrations.AddTrigger(
                    model_name="assignment",
                    trigger=pgtrigger.compiler.Trigger(
                        name="update_update",
                        sql=pgtrigger.compiler.UpsertTriggerSql(
                            condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                            func='INSERT INTO "events_assignmenthistory" ("assigned_by_id", "created_at", "employee_id", "event_id", "id", "invitation_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role_id", "updated_at", "version", "work_area_id") VALUES (NEW."assigned_by_id", NEW."created_at", NEW."employee_id", NEW."event_id", NEW."id", NEW."invitation_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."role_id", NEW."updated_at", NEW."version", NEW."work_area_id"); RETURN NULL;',
                            hash="142d3facfe9076e4022b6aaa2433ae20eace25de",
                            operation="UPDATE",
                            pgid="pgtrigger_update_update_a3113",
                            table="events_assignment",
                            when="AFTER",
                        ),
                    ),
                ),
                pgtrigger.migrations.AddTrigger(
                    model_name="assignment",
                    trigger=pgtrigger.compiler.Trigger(
                        name="delete_delete",
                        sql=pgtrigger.compiler.UpsertTriggerSql(
                            func='INSERT INTO "events_assignmenthistory" ("assigned_by_id", "created_at", "employee_id", "event_id", "id", "invitation_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role_id", "updated_at", "version", "work_area_id") VALUES (OLD."assigned_by_id", OLD."created_at", OLD."employee_id", OLD."event_id", OLD."id", OLD."invitation_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."role_id", OLD."updated_at", OLD."version", OLD."work_area_id"); RETURN NULL;',
                            hash="ad55dbc7218e864552ce6d4a2fc1b8974fed51e9",
                            operation="DELETE",
                            pgid="pgtrigger_delete_delete_d4069",
                            table="events_assignment",
                            when="AFTER",
                        ),
                    ),
                ),
                pgtrigger.migrations.AddTrigger(
                    model_name="assignmenthistory",
                    trigger=pgtrigger.compiler.Trigger(
                        name="append_only_delete",
                        sql=pgtrigger.compiler.UpsertTriggerSql(
                            func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;",
                            hash="f6d528960f81286e1fce24c3584ca38fa5c45964",
                            operation="DELETE",
                            pgid="pgtrigger_append_only_delete_f21c7",
                            table="events_assignmenthistory",
                            when="BEFORE",
                        ),
                    ),
                ),
                pgtrigger.migrations.AddTrigger(
                    model_name="assignmenthistory",
                    trigger=pgtrigger.compiler.Trigger(
                        name="append_only_update",
                        sql=pgtrigger.compiler.UpsertTriggerSql(
                            func="PERFORM crewcall_history_update_check(TG_TABLE_NAME::text, TG_RELID, to_jsonb(OLD), to_jsonb(NEW)); RETURN NEW;",
                            hash="6ba7f14bbbc6f3727784178c3a4c3e642a5cb738",
                            operation="UPDATE",
                            pgid="pgtrigger_append_only_update_5fef4",
                            table="events_assignmenthistory",
                            when="BEFORE",
                        ),
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(_renames(to_staffing=True), reverse_sql=_renames(to_staffing=False)),
            ],
        ),
        # Outside SeparateDatabaseAndState, so that sqlmigrate lists it instead of running it.
        migrations.RunPython(content_types_to_staffing, content_types_to_events),
    ]
