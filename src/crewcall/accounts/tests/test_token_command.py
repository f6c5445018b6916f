"""`crewcall token create --user NAME`: only the secret on stdout; failures exit with 1."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from crewcall.accounts.models import ApiToken, User
from crewcall.accounts.tokens import user_for_token
from crewcall.testing.owner import migration_url_for

REPO = Path(__file__).resolve().parents[4]


def test_it_prints_only_a_working_secret(bob: User) -> None:
    out, err = StringIO(), StringIO()
    call_command("token", "create", "--user", "bob", "--name", "nightly sync", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert out.getvalue() == secret + "\n" and secret.startswith("cc_")
    found = user_for_token(secret)
    assert found is not None and found[0] == bob
    token = ApiToken.objects.get(pk=found[1])
    assert token.name == "nightly sync" and token.created_by is None
    assert "bob" in err.getvalue() and secret not in err.getvalue()
    history = apps.get_model("accounts", "ApiTokenHistory").objects.get(pgh_obj_id=token.pk)
    assert history.pgh_context["source"] == "cli"


def test_the_label_defaults_and_refusals_raise(bob: User) -> None:
    call_command("token", "create", "--user", "bob", stdout=StringIO(), stderr=StringIO())
    assert ApiToken.objects.get(user=bob).name == "cli"
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("token", "create", "--user", "nobody", stdout=StringIO(), stderr=StringIO())
    User.objects.filter(pk=bob.pk).update(is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        call_command("token", "create", "--user", "bob", stdout=StringIO(), stderr=StringIO())
    assert ApiToken.objects.count() == 1


def _crewcall(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    db = connection.settings_dict
    if os.environ.get("DATABASE_URL"):
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        env["DATABASE_URL"] = (
            f"postgresql://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        env.pop("CREWCALL_MIGRATION_DATABASE_URL", None)
        if owner := migration_url_for(str(db["NAME"])):
            env["CREWCALL_MIGRATION_DATABASE_URL"] = owner
    else:
        env["CREWCALL_DATABASE_NAME"] = str(db["NAME"])
    env.update(CREWCALL_DATA_DIR=str(settings.DATA_DIR), CREWCALL_LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "crewcall", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_from_a_shell_the_output_is_the_token_and_failures_exit_1(bob: User) -> None:
    made = _crewcall("token", "create", "--user", "bob")
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    assert len(lines) == 1, made.stdout
    found = user_for_token(lines[0])
    assert found is not None and found[0] == bob

    missing = _crewcall("token", "create", "--user", "nobody")
    assert missing.returncode == 1
    assert missing.stdout == "" and "There is no user 'nobody'." in missing.stderr
