"""What every websocket that follows one conversation does (the webchat's, the emulator's):
join the conversation's group before reading so nothing committed in between is missed, keep
a seq cursor, run turns (runtime/live_turns.py), pass typing on, and leave the group on close.
The protocol itself is docs/websocket-protocol.md; the frames are in conversation_stream."""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

from flows import untrusted_json
from runtime import conversation_stream, live_turns

logger = logging.getLogger(__name__)


class ConversationStreamMixin:
    """For an AsyncJsonWebsocketConsumer. Call `_start_stream()` in `connect`."""

    turn_label = "conversation"  # names the consumer in the log when a turn fails
    # The consumer's refusal type: `(code, message)` -> an exception with `as_frame(seq)`.
    input_error: Callable[[str, str], Exception]
    # A widget frame is a 4096-character message or a 16 KB event; docs/security.md.
    max_frame_bytes = 64 * 1024

    # ---- frames in: the untrusted-input policy, and no frame can kill the connection --------
    @classmethod
    async def decode_json(cls, text_data):
        return untrusted_json.decode(text_data, max_bytes=cls.max_frame_bytes, what="the frame")

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if not text_data:
            await self._refuse_frame("frames must be JSON text")
            return
        try:
            content = await self.decode_json(text_data)
        except untrusted_json.UntrustedJSON as exc:
            syntax = exc.kind in ("syntax", "encoding")
            await self._refuse_frame("frames must be JSON text" if syntax else f"the frame is refused: {exc}")
            return
        try:
            await self.receive_json(content, **kwargs)
        except Exception:
            # A bug, not bad input: say so in a close frame instead of dropping the socket.
            logger.exception("%s websocket frame failed", self.turn_label)
            await self.close(code=1011, reason="internal error; it has been logged")

    # ---- frames out: a client that has gone is not an error ---------------------------------
    # Under uvicorn (scripts/serve.sh) a send to a socket whose client has left raises
    # (ClientDisconnected, an OSError; after the server's own close frame, a RuntimeError),
    # where Daphne drops it. Raised by a frame's acknowledgement it kept the frame's turn from
    # starting (the message stayed unanswered); raised from a group handler (a reply, typing)
    # it ended the consumer before its websocket.disconnect ran, so the channel could stay in
    # the conversation's group (the core Redis layer kept members a day). Such sends are dropped
    # here; the disconnect that follows leaves the group.
    _closed = False

    async def send(self, text_data=None, bytes_data=None, close=False):
        if self._closed:
            return
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except OSError:
            self._closed = True

    async def send_json(self, content, close=False):
        # AsyncJsonWebsocketConsumer's own send_json calls past this class's `send`.
        await self.send(text_data=await self.encode_json(content), close=close)

    async def close(self, code=None, reason=None):
        if self._closed:
            return
        self._closed = True
        try:
            await super().close(code=code, reason=reason)
        except OSError:
            pass

    async def _refuse_frame(self, message: str) -> None:
        await self.send_json(self.input_error("bad_request", message).as_frame(self._seq()))

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

    async def stream_delta(self, event):
        if self.cursor is not None and not self.cursor.is_finished(event.get("eventId"), event["streamId"]):
            await self.send_json(conversation_stream.delta_frame(self.cursor.conversation_external_id,
                                                                 self._seq(), event))

    async def stream_cancelled(self, event):
        if self.cursor is not None:
            await self.send_json(conversation_stream.cancelled_frame(self.cursor.conversation_external_id,
                                                                     self._seq(), event))
