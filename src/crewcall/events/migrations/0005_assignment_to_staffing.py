"""Assignment now belongs to staffing (staffing.0005 takes it over, tables unchanged):
drop it and its history model from events' state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0004_history_guard"),
        ("staffing", "0005_assignment_from_events"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="assignmenthistory", name="pgh_obj"),
                migrations.DeleteModel(name="AssignmentHistory"),
                migrations.DeleteModel(name="Assignment"),
            ],
            database_operations=[],
        ),
    ]
