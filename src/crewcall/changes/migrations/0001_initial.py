"""The change feed's tables: the change log and its one-row state (epoch, watermark).

The state table is created here in SQL, with its row, because Django's test flush would
empty a managed table; a fresh random epoch makes every database's cursors its own.
"""

import django.db.models.functions.datetime
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

import crewcall.changes.models

FEED = """
CREATE TABLE changes_feed (
    id boolean PRIMARY KEY DEFAULT true CONSTRAINT changes_feed__id__one_row CHECK (id),
    epoch text NOT NULL CONSTRAINT changes_feed__epoch__format CHECK (epoch ~ '^[a-z0-9]{1,32}$'),
    pruned_xid xid8,
    pruned_seq bigint,
    CONSTRAINT changes_feed__pruned__both CHECK ((pruned_xid IS NULL) = (pruned_seq IS NULL))
);
INSERT INTO changes_feed (epoch) VALUES (substr(md5(gen_random_uuid()::text), 1, 12));
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.RunSQL(FEED, "DROP TABLE IF EXISTS changes_feed;"),
        migrations.CreateModel(
            name="Feed",
            fields=[
                ("id", models.BooleanField(default=True, primary_key=True, serialize=False)),
                ("epoch", models.TextField()),
                ("pruned_xid", crewcall.changes.models.TransactionIdField(null=True)),
                ("pruned_seq", models.BigIntegerField(null=True)),
            ],
            options={
                "db_table": "changes_feed",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="Change",
            fields=[
                ("seq", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "xid",
                    crewcall.changes.models.TransactionIdField(
                        db_default=crewcall.changes.models.CurrentTransactionId(), editable=False
                    ),
                ),
                ("table_name", models.TextField()),
                (
                    "op",
                    models.CharField(
                        choices=[("I", "insert"), ("U", "update"), ("D", "delete")], max_length=1
                    ),
                ),
                ("row_id", models.BigIntegerField()),
                ("version", models.IntegerField(null=True)),
                ("event_id", models.BigIntegerField(null=True)),
                ("employee_id", models.BigIntegerField(null=True)),
                ("actor_id", models.BigIntegerField(null=True)),
                ("source", models.TextField(null=True)),
                ("request_id", models.TextField(null=True)),
                ("at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                "indexes": [models.Index(fields=["xid", "seq"], name="changes_change_xid_seq")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("op__in", ["I", "U", "D"])), name="changes_change__op__known"
                    )
                ],
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="change",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;",
                    hash="c768de5c95f498e45cb5027714e8584b74b3121a",
                    operation="UPDATE",
                    pgid="pgtrigger_append_only_708ff",
                    table="changes_change",
                    when="BEFORE",
                ),
            ),
        ),
    ]
