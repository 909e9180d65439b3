"""The emulator's websocket (`/ws/emulator/<bot>/`). A thin shell: who may connect and what
each frame does are in `runtime.emulator`; ordering, replay and the group are in
`runtime.conversation_stream`, shared with the webchat. The protocol is docs/emulator.md."""
from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from runtime import conversation_stream, emulator
from runtime.emulator import EmulatorError

logger = logging.getLogger(__name__)


class EmulatorConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.bot_id = self.scope["url_route"]["kwargs"]["bot_id"]
        self.bot = None
        self.session = None
        self.cursor = None
        self.turn_seq = 0  # the highest event seq whose turn frame this socket sent
        self.group = None
        self.turns: set[asyncio.Task] = set()
        await self.accept()  # first, so a refusal can say why before closing
        try:
            self.bot = await database_sync_to_async(emulator.authorize)(self.scope.get("user"), self.bot_id)
        except EmulatorError as exc:
            await self._refuse(exc)

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = None

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except ValueError:  # not JSON
            await self.send_json(EmulatorError("bad_request", "frames must be JSON text").as_frame(self._seq()))

    async def receive_json(self, content, **kwargs):
        if self.bot is None:
            return
        client_id = content.get("clientId") if isinstance(content, dict) else None
        try:
            if not isinstance(content, dict):
                raise EmulatorError("bad_request", "every frame must be a JSON object with a type")
            if self.session is None:
                await self._hello(content)
            else:
                # A role may change while the panel is open: check before every action.
                await database_sync_to_async(emulator.authorize)(self.scope.get("user"), self.bot_id)
                await self._frame(content)
        except EmulatorError as exc:
            if exc.fatal:
                await self._refuse(exc)
                return
            frame = exc.as_frame(self._seq())
            if isinstance(client_id, str):
                frame["clientId"] = client_id
            await self.send_json(frame)

    # ---- frames ------------------------------------------------------------------------------
    async def _hello(self, content):
        if content.get("type") != "hello":
            raise EmulatorError("bad_request", 'the first frame must be {"type": "hello", ...}')
        session = await database_sync_to_async(emulator.open_session)(
            self.scope["user"], self.bot, content.get("conversationId"))
        same = session.conversation_id == content.get("conversationId")
        after = content.get("after") if same and isinstance(content.get("after"), int) else 0
        turns_after = content.get("turnsAfter") if same and isinstance(content.get("turnsAfter"), int) else 0
        self.session = session
        await self._follow(max(after, 0), max(turns_after, 0))
        await self.send_json(await database_sync_to_async(emulator.ready_frame)(session, self.cursor.seq))
        await self._send_new(with_state=True)

    async def _frame(self, content):
        kind = content.get("type")
        echo = {"clientId": content["clientId"]} if isinstance(content.get("clientId"), str) else {}
        if kind == "message":
            seq = await database_sync_to_async(emulator.post_message)(self.session, content.get("payload"))
            await self.send_json({"type": "ack", **echo, "messageSeq": seq, "seq": self._seq()})
            self._process()
        elif kind == "timeout":
            seq = await database_sync_to_async(emulator.post_timeout)(self.session)
            await self.send_json({"type": "ack", **echo, "eventSeq": seq, "seq": self._seq()})
            self._process()
        elif kind in ("newConversation", "newUser"):
            switch = emulator.new_conversation if kind == "newConversation" else emulator.new_user
            await database_sync_to_async(switch)(self.session)
            await self._follow(0, 0)
            await self.send_json(await database_sync_to_async(emulator.ready_frame)(self.session, 0) | echo)
            await self._send_new(with_state=True)
        elif kind == "state":
            await self._send_state()
        elif kind == "ping":
            await self.send_json({"type": "pong", **echo, "seq": self._seq()})
        else:
            raise EmulatorError("bad_request", f"unknown frame type {kind!r} "
                                               "(expected message, timeout, newConversation, newUser, state or ping)")

    async def _follow(self, after: int, turns_after: int):
        """Join the conversation's group, then read: joining first means nothing committed in
        between can be missed (the cursors drop what is read twice)."""
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        conversation = self.session.conversation
        self.group = conversation_stream.group_name(conversation.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.cursor = conversation_stream.Cursor(conversation.pk, conversation.external_id, seq=after)
        self.turn_seq = turns_after

    def _process(self):
        # Off the event loop: the socket keeps delivering typing and replies while the turn runs.
        task = asyncio.ensure_future(
            sync_to_async(emulator.process, thread_sensitive=False)(self.session.conversation.pk))
        self.turns.add(task)
        task.add_done_callback(self._turn_done)

    def _turn_done(self, task: asyncio.Task):
        self.turns.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("emulator turn failed", exc_info=task.exception())

    async def _send_new(self, *, with_state: bool = False):
        # Turns are read before messages: a turn read here has committed its replies, so they
        # are in the message read and go out before the turn frame that explains them.
        turns = await database_sync_to_async(emulator.turns_after)(self.session.conversation, self.turn_seq)
        for frame in await self.cursor.aread():
            await self.send_json(frame)
        for turn in turns:
            if turn["eventSeq"] <= self.turn_seq:
                continue
            self.turn_seq = turn["eventSeq"]
            await self.send_json(conversation_stream.control_frame("turn", self._seq(), turn=turn))
        if turns or with_state:
            await self._send_state()

    async def _send_state(self):
        state = await database_sync_to_async(emulator.state_snapshot)(self.session.conversation)
        await self.send_json(conversation_stream.control_frame("state", self._seq(), state=state))

    async def _refuse(self, exc: EmulatorError):
        await self.send_json(exc.as_frame(self._seq()))
        await self.close(code=exc.close_code)

    def _seq(self) -> int:
        return self.cursor.seq if self.cursor else 0

    # ---- group messages ----------------------------------------------------------------------
    async def stream_new(self, event):
        if self.cursor is not None and event.get("upTo", 0) > self.cursor.seq:
            for frame in await self.cursor.aread():
                await self.send_json(frame)

    async def stream_typing(self, event):
        if self.cursor is not None:
            await self.send_json(conversation_stream.control_frame("typing", self._seq(), on=event["on"]))

    async def emulator_turns(self, event):
        if self.session is not None:
            await self._send_new()
