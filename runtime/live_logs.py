"""The Logs page's live tail over a websocket (docs/dashboard.md, "Logs"): after a published
turn that stored log lines (or failed) commits, its bot's group hears `logs.stored`; the
studio's tail consumer then reads the new lines through the same service as the page
(studio/operations.log_page), so filters, the permission check and the "stop before a turn
still running" rule live in one place. The notice carries no log text: a socket that missed
one reads everything after its `after` on the next."""
from __future__ import annotations

from runtime import delivery
from runtime.models import Event

STORED = "logs.stored"


def group_name(bot_id) -> str:
    return f"bot-logs.{bot_id}"


def has_lines(event) -> bool:
    """Whether a settled turn wrote anything the Logs page shows."""
    return bool(event.logs) or (event.status == Event.Status.FAILED and bool(event.error))


def announce(bot_id, event_id) -> None:
    """Queued on the delivery loop (runtime.delivery.send_to_group): never blocks the turn."""
    delivery.send_to_group(group_name(bot_id), {"type": STORED, "eventId": event_id})
