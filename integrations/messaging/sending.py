"""The bot's replies to a channel: in seq order per conversation, each message once.

`runtime.delivery` tells `on_messages` which messages a channel conversation gained (after
the commit); it only queues `tasks.deliver` for the conversation. The task sends every reply
after the conversation's `delivered_seq`, one at a time, moving the cursor after each, while
holding a lock on that conversation: two tasks racing for one conversation send one after the
other, and a reply is never sent before an earlier one. A reply the channel refuses (a 4xx
other than 408/429) is recorded as a DeliveryFailure and skipped; one it cannot take now
(unreachable, 5xx, 408, 429) stops the run, and the task retries it, with the replies behind
it waiting their turn. After the last retry it is recorded and skipped too.
"""
from __future__ import annotations

import logging

from runtime import session_locks
from runtime.models import Message

from . import kinds, services
from .kinds import Outgoing, Refused, SendFailed, SendRejected
from .models import Channel, ChannelConversation, DeliveryFailure

logger = logging.getLogger(__name__)

# The conversation's send lock: pg_advisory_lock(crc32 of this, link id).
_LOCK_NAME = b"messaging.delivery"


def on_messages(conversation, messages: list) -> None:
    """`runtime.delivery` subscriber. Runs right after a commit, maybe on a server's loop:
    it only queues the delivery."""
    if conversation.channel not in kinds.KINDS:
        return
    if not any(m.direction == Message.Direction.OUTGOING for m in messages):
        return
    from . import tasks

    tasks.schedule_delivery(conversation.pk)


def deliver_pending(conversation_pk, *, attempts: int = 1, last_attempt: bool = True) -> int:
    """Send the conversation's undelivered replies in seq order; returns how many were sent.
    SendFailed when one must be retried (unless `last_attempt`: then it is recorded)."""
    link = ChannelConversation.objects.filter(conversation_id=conversation_pk).first()
    if link is None:
        return 0
    with session_locks.session_lock(_LOCK_NAME, link.pk):
        link.refresh_from_db(fields=["delivered_seq"])
        channel = Channel.objects.get(pk=link.channel_id)
        pending = list(Message.objects.filter(conversation_id=conversation_pk, direction=Message.Direction.OUTGOING,
                                              seq__gt=link.delivered_seq).order_by("seq"))
        if not pending:
            return 0
        if not channel.enabled:
            # Replies made while the channel is off are not sent later, out of their moment.
            _advance(link, pending[-1].seq)
            return 0
        try:
            config = services.config_of(channel)
        except Refused as exc:
            for message in pending:
                _record(channel, link, message, None, exc.reason, attempts)
            _advance(link, pending[-1].seq)
            return 0
        kind = kinds.get(channel.kind)
        last_incoming_at = (Message.objects.filter(conversation_id=conversation_pk,
                                                   direction=Message.Direction.INCOMING)
                            .order_by("-seq").values_list("created_at", flat=True).first())
        sent = 0
        for message in pending:
            if not message.is_event:  # custom events are the bot's signals, not things to show
                try:
                    kind.send(config, link.address, Outgoing(id=str(message.pk), seq=message.seq,
                                                             message=message.as_output(),
                                                             last_incoming_at=last_incoming_at))
                    sent += 1
                except SendRejected as exc:
                    _record(channel, link, message, exc.status, str(exc), attempts)
                except SendFailed as exc:
                    if not last_attempt:
                        raise
                    _record(channel, link, message, exc.status, f"gave up after {attempts} attempts: {exc}",
                            attempts)
            _advance(link, message.seq)
        return sent


def _advance(link: ChannelConversation, seq: int) -> None:
    ChannelConversation.objects.filter(pk=link.pk).update(delivered_seq=seq)
    link.delivered_seq = seq


def _record(channel, link, message, status, error: str, attempts: int) -> None:
    logger.warning("%s reply #%s of conversation %s not delivered: %s", channel.kind, message.seq,
                   link.conversation_id, error)
    DeliveryFailure.objects.create(channel=channel, conversation_id=link.conversation_id, message=message,
                                   status_code=status, error=error[:2000], attempts=attempts)
