"""Users get their version kept by the database, like every mutable table."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_api_tokens_and_user_version"), ("core", "0001_row_version")]

    operations = [
        migrations.RunSQL(
            "CREATE TRIGGER accounts_user_version BEFORE INSERT OR UPDATE ON accounts_user "
            "FOR EACH ROW EXECUTE FUNCTION crewcall_row_version();",
            "DROP TRIGGER IF EXISTS accounts_user_version ON accounts_user;",
        ),
    ]
