"""What every websocket that follows one conversation does (the webchat's, the emulator's):
join the conversation's group before reading so nothing committed in between is missed, keep
a seq cursor, run turns (runtime/live_turns.py), pass typing on, and leave the group on close.
The protocol itself is docs/websocket-protocol.md; the frames are in conversation_stream."""
from __future__ import annotations

import asyncio
import logging

from runtime import conversation_stream, live_turns

logger = logging.getLogger(__name__)


class ConversationStreamMixin:
    """For an AsyncJsonWebsocketConsumer. Call `_start_stream()` in `connect`."""

    turn_label = "conversation"  # names the consumer in the log when a turn fails

    def _start_stream(self) -> None:
        self.cursor: conversation_stream.Cursor | None = None
        self.group: str | None = None
        self.turns: set[asyncio.Task] = set()

    async def _leave_group(self) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = None

    async def _follow_conversation(self, conversation, after: int) -> None:
        """Join the conversation's group, then read: joining first means nothing committed in
        between can be missed (the cursor drops what is read twice)."""
        await self._leave_group()
        self.group = conversation_stream.group_name(conversation.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.cursor = conversation_stream.Cursor(conversation.pk, conversation.external_id, seq=after)

    def _run_turns(self, conversation_pk, *, then: dict | None = None) -> None:
        # Not awaited: the socket keeps delivering typing and replies while the turn runs
        # (on the engine pool, never on this loop: runtime/live_turns.py).
        task = asyncio.ensure_future(live_turns.process(conversation_pk, then=then))
        self.turns.add(task)
        task.add_done_callback(self._turn_done)

    def _turn_done(self, task: asyncio.Task) -> None:
        self.turns.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s turn failed", self.turn_label, exc_info=task.exception())

    async def _send_new_messages(self) -> None:
        for frame in await self.cursor.aread():
            await self.send_json(frame)

    def _seq(self) -> int:
        return self.cursor.seq if self.cursor else 0

    # ---- group messages ------------------------------------------------------------------
    async def stream_typing(self, event):
        if self.cursor is not None:
            await self.send_json(conversation_stream.control_frame("typing", self._seq(), on=event["on"]))
