"""Retention of raw inbound payloads: after INBOUND_RAW_KEEP_DAYS the provider's request of
an applied message becomes `{}`; everything the audit reads stays; the history is not
touched; nothing else may change a received message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from crewcall.messaging import retention, tasks
from crewcall.messaging.inbound import inbound_receive
from crewcall.messaging.models import InboundMessage
from crewcall.staffing.services import invitation_create
from crewcall.staffing.tasks import apply_inbound
from crewcall.testing.history_counts import history_state
from crewcall.testing.sql import refused, run
from crewcall.testing.webhooks import inbound_params

pytestmark = pytest.mark.django_db(transaction=True)

AUDITED = ("provider_sid", "from_number", "body", "button_payload", "replied_to_sid", "received_at",
           "employee_id", "invitation_id", "outcome", "outcome_detail")  # fmt: skip


def receive(phone: str, body: str, *, days_old: int) -> int:
    params = inbound_params(phone, body)
    params["ProfileName"] = "Emil Example"  # personal data the provider sends along
    message_id = inbound_receive(
        provider_sid=params["MessageSid"], from_number=params["From"], body=body, raw=params
    ).message_id
    run(
        "UPDATE messaging_inboundmessage SET received_at = now() - make_interval(days => %s) WHERE id = %s",
        [days_old, message_id],
    )
    return message_id


def audited(message_id: int) -> dict[str, Any]:
    return InboundMessage.objects.filter(pk=message_id).values(*AUDITED, "version").get()


def history_rows(message_id: int) -> int:
    sql = "SELECT count(*) FROM messaging_inboundmessagehistory WHERE pgh_obj_id = %s"
    return int(run(sql, [message_id])[0][0])


@pytest.fixture
def phone(agency: Any) -> str:
    invitation = invitation_create(
        actor=agency.actor, event_id=agency.event().pk, employee_id=agency.employee().pk
    )
    assert invitation.employee.phone_number is not None
    return str(invitation.employee.phone_number)


def cutoff(days: int = 30) -> Any:
    return timezone.now() - timedelta(days=days)


def test_old_payloads_go_young_and_pending_ones_stay_and_the_history_is_untouched(phone: str) -> None:
    old = [receive(phone, "ja", days_old=40), receive(phone, "vielleicht", days_old=35)]
    young = receive(phone, "nein", days_old=2)
    assert apply_inbound() == 3
    pending = receive(phone, "ja", days_old=40)  # not applied yet: its payload stays
    before = {pk: audited(pk) for pk in [*old, young, pending]}
    history_before = history_state()

    assert retention.inbound_raw_prune(older_than=cutoff()) == 2

    raw = dict(InboundMessage.objects.values_list("pk", "raw"))
    assert [raw[pk] for pk in old] == [{}, {}]
    assert raw[young]["ProfileName"] == raw[pending]["ProfileName"] == "Emil Example"
    for pk in old:  # what the audit reads stays; the version moves (the API's detail changed)
        after = audited(pk)
        assert after.pop("version") == before[pk].pop("version") + 1
        assert after == before[pk]
    assert {pk: audited(pk) for pk in (young, pending)} == {pk: before[pk] for pk in (young, pending)}
    assert history_state() == history_before  # not a row added, changed or removed
    # The history keeps the payload as received (erasure is a matter of its own).
    kept = run(
        "SELECT count(*) FROM messaging_inboundmessagehistory WHERE pgh_obj_id = ANY(%s) AND raw <> '{}'",
        [old],
    )
    assert kept[0][0] >= 2


def test_the_history_triggers_work_again_after_the_prune(phone: str) -> None:
    """Skipping the history trigger is local to the prune's transaction: the next change on
    the same connection is recorded as always."""
    message_id = receive(phone, "ja", days_old=40)
    apply_inbound()
    assert retention.inbound_raw_prune(older_than=cutoff()) == 1
    before = history_rows(message_id)
    run("UPDATE messaging_inboundmessage SET outcome_detail = 'looked at' WHERE id = %s", [message_id])
    assert history_rows(message_id) == before + 1
    assert run("SELECT current_setting('pgtrigger.ignore'), current_setting('crewcall.retention', true)") == [
        ("{}", "")
    ]


def test_a_received_message_stays_as_it_arrived_except_for_the_payload_going(phone: str) -> None:
    message_id = receive(phone, "ja", days_old=40)
    apply_inbound()
    # A fresh connection, where `crewcall.retention` was never set (current_setting() is
    # NULL there, not ''): the guard must hold in that case too.
    connection.close()
    # Without the retention switch, the payload cannot be dropped (the control) ...
    refused("UPDATE messaging_inboundmessage SET raw = '{}' WHERE id = %s", [message_id],
            rule="messaging_inboundmessage__raw__immutable")  # fmt: skip
    # ... nor with the switch set by the application itself: only the owner's function may
    # drop it; and nothing can change it, nor anything else of the message.
    for change in ("raw = '{}'", 'raw = \'{"Body": "nein"}\'', "body = 'nein'", "from_number = '+4900'"):
        refused(
            "SELECT set_config('crewcall.retention', 'on', true);"
            f" UPDATE messaging_inboundmessage SET {change} WHERE id = %s",
            [message_id],
            rule="messaging_inboundmessage__raw__immutable",
        )
    assert InboundMessage.objects.get(pk=message_id).raw["Body"] == "ja"


def test_the_prune_skips_the_history_trigger_pghistory_made() -> None:
    """The definer function names the history's copy-on-update trigger it skips; a renamed
    trigger would make the prune write history rows (or fail)."""
    import pgtrigger

    from crewcall.messaging.migrations import __path__ as migrations_path

    model, trigger = pgtrigger.registered("messaging.InboundMessage:update_update")[0]
    source = (Path(migrations_path[0]) / "0006_privileged_raw_prune.py").read_text()
    assert "{" + trigger.get_pgid(model) + "}" in source


def test_a_batch_drops_at_most_its_size(phone: str) -> None:
    for _ in range(5):
        receive(phone, "ja", days_old=40)
    apply_inbound()
    assert retention.inbound_raw_prune_batch(older_than=cutoff(), batch_size=2) == 2
    assert retention.inbound_raw_prune(older_than=cutoff(), batch_size=2, max_batches=1) == 2
    assert InboundMessage.objects.exclude(raw={}).count() == 1
    assert retention.inbound_raw_prune(older_than=cutoff(), batch_size=2) == 1
    assert not InboundMessage.objects.exclude(raw={}).exists()


def test_the_periodic_job_uses_the_configured_window(phone: str, settings: Any) -> None:
    settings.INBOUND_RAW_KEEP_DAYS = 10
    gone = receive(phone, "ja", days_old=11)
    kept = receive(phone, "ja", days_old=9)
    apply_inbound()
    assert tasks.prune_inbound_raw(timestamp=0) == 1
    assert InboundMessage.objects.get(pk=gone).raw == {}
    assert InboundMessage.objects.get(pk=kept).raw != {}
