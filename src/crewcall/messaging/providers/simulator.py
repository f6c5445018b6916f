"""The simulator: no network, the stored message is the whole delivery.

Its "provider id" is derived from the message id, so a send is idempotent by
construction: a retry after a crash produces the same id and nothing external happened
the first time. `find_sent` therefore only reports what the row itself already says.

After the send is recorded, the job `messaging.simulate_delivery` posts a signed
"delivered" status callback to the real webhook endpoint, as Twilio does.
"""

from __future__ import annotations

from crewcall.messaging.models import OutboundMessage
from crewcall.messaging.providers.base import ProviderReceipt


def simulator_sid(message: OutboundMessage) -> str:
    return f"SIM{message.pk:012d}"


class SimulatorProvider:
    name = "simulator"

    def send(self, message: OutboundMessage, *, status_callback: str) -> ProviderReceipt:
        return ProviderReceipt(sid=simulator_sid(message), status="sent")

    def find_sent(self, message: OutboundMessage) -> ProviderReceipt | None:
        if message.provider_sid:
            return ProviderReceipt(sid=message.provider_sid, status=message.status)
        return None
