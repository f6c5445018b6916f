"""Event dates and reply deadlines in years 1900 to 2999 (core/validation.py): outside,
date arithmetic around an event overflowed (asking ahead of 9999-12-31, say). Adding the
checks reads the events table once; a row outside the range stops the migration (to be
corrected by hand first)."""

import datetime

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0005_assignment_to_staffing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="event",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("event_date__isnull", True),
                    models.Q(
                        ("event_date__gte", datetime.date(1900, 1, 1)),
                        ("event_date__lte", datetime.date(2999, 12, 31)),
                    ),
                    _connector="OR",
                ),
                name="events_event__event_date__in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("reply_deadline__isnull", True),
                    models.Q(
                        ("reply_deadline__gte", datetime.datetime(1900, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                        ("reply_deadline__lt", datetime.datetime(3000, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                    ),
                    _connector="OR",
                ),
                name="events_event__reply_deadline__in_range",
            ),
        ),
    ]
