"""Past `queued`, a message has counted at least one attempt (docs/messaging.md, "Attempts").

Before this, a maybe-taken call during a provider outage gave its attempt back while the
message stayed in `sending`, so a take-over that found it at the provider recorded it
`sent` with attempts = 0. Each such row made at least one provider call: the data fix
counts that one (source `repair` in its history), then the CHECK holds it from now on.
"""

from django.db import migrations, models

DATA_FIX = """
SELECT set_config('pghistory.context_metadata', '{"source": "repair"}', true);
UPDATE messaging_outboundmessage SET attempts = 1 WHERE status <> 'queued' AND attempts = 0;
SELECT set_config('pghistory.context_metadata', '', true);
"""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_inbound_raw_retention")]

    operations = [
        # Not undone on the way back: one attempt is the truth for these rows either way.
        migrations.RunSQL(DATA_FIX, reverse_sql=migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="outboundmessage",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "queued"), ("attempts__gte", 1), _connector="OR"),
                name="messaging_outboundmessage__attempts__past_queued",
            ),
        ),
    ]
