"""The emulator's websocket (`/ws/emulator/<bot>/`). A thin shell: who may connect and what
each frame does are in `studio.emulator.sessions`; ordering, replay and the group are in
`runtime.conversation_stream`, shared with the webchat. The protocol is docs/emulator.md."""
from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from runtime import conversation_stream
from runtime import turns as turn_service
from runtime import workflows
from runtime.stream_consumer import ConversationStreamMixin
from studio.emulator import sessions as emulator
from studio.emulator.sessions import EmulatorError


class EmulatorConsumer(ConversationStreamMixin, AsyncJsonWebsocketConsumer):
    turn_label = "emulator"
    input_error = EmulatorError

    async def connect(self):
        # Group sends (typing, the pieces of a streamed answer) through this loop: the
        # in-memory layer of the embedded default needs it (runtime/conversation_stream.py).
        conversation_stream.serve_from(asyncio.get_running_loop())
        self.bot_id = self.scope["url_route"]["kwargs"]["bot_id"]
        self.bot = None
        self.session = None
        self.turn_seq = 0  # the highest event seq whose turn frame this socket sent
        self._start_stream()
        await self.accept()  # first, so a refusal can say why before closing
        try:
            self.bot = await database_sync_to_async(emulator.authorize)(self.scope.get("user"), self.bot_id)
        except EmulatorError as exc:
            await self._refuse(exc)

    async def disconnect(self, code):
        await self._leave_group()

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
        elif kind == "cancel":
            up_to = await database_sync_to_async(turn_service.cancel)(self.session.conversation)
            await self.send_json({"type": "ack", **echo, "cancelled": True, "eventSeq": up_to, "seq": self._seq()})
        elif kind in ("resume_workflow", "retry_workflow"):
            # The panel's form for a WorkflowInterventionRequired, or a failed step's retry.
            ack = await database_sync_to_async(workflows.client_frame)(self.session.conversation, content, EmulatorError)
            await self.send_json({"type": "ack", **echo, **ack, "seq": self._seq()})
        else:
            raise EmulatorError("bad_request", f"unknown frame type {kind!r} (expected message, timeout, newConversation, "
                                               "newUser, state, cancel, resume_workflow, retry_workflow or ping)")

    async def _follow(self, after: int, turns_after: int):
        await self._follow_conversation(self.session.conversation, after)
        self.turn_seq = turns_after

    def _process(self):
        self._run_turns(self.session.conversation.pk, then={"type": emulator.TURNS_DONE})

    async def _send_new(self, *, with_state: bool = False):
        # Turns are read before messages: a turn read here has committed its replies, so they
        # are in the message read and go out before the turn frame that explains them.
        turns = await database_sync_to_async(emulator.turns_after)(self.session.conversation, self.turn_seq)
        await self._send_new_messages()
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

    # ---- group messages ----------------------------------------------------------------------
    async def stream_new(self, event):
        if self.cursor is not None and event.get("upTo", 0) > self.cursor.seq:
            await self._send_new_messages()

    async def emulator_turns(self, event):
        if self.session is not None:
            await self._send_new()
