"""The widget's websocket (`/ws/webchat/<bot>/`). A thin shell: who may connect and what each
frame does are in `services`; ordering, replay and the group are in
`runtime.conversation_stream`. The protocol is docs/websocket-protocol.md."""
from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from runtime import conversation_stream
from runtime.stream_consumer import ConversationStreamMixin

from . import services
from .services import WebchatError


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class WebchatConsumer(ConversationStreamMixin, AsyncJsonWebsocketConsumer):
    turn_label = "webchat"
    input_error = WebchatError

    async def connect(self):
        conversation_stream.serve_from(asyncio.get_running_loop())
        self.bot_id = self.scope["url_route"]["kwargs"]["bot_id"]
        self.origin = _header(self.scope, b"origin")
        self.host = _header(self.scope, b"host")
        self.session = None
        self._start_stream()
        # Accept first so a refusal can say why (an error frame, then close code 4403...).
        await self.accept()
        try:
            await database_sync_to_async(services.check_origin)(self.bot_id, self.origin, self.host)
        except WebchatError as exc:
            await self._refuse(exc)

    async def disconnect(self, code):
        await self._leave_group()

    async def receive_json(self, content, **kwargs):
        try:
            if self.session is None:
                await self._hello(content)
            else:
                await self._frame(content)
        except WebchatError as exc:
            if exc.fatal:
                await self._refuse(exc)
            else:
                frame = exc.as_frame(self._seq())
                if isinstance(content, dict) and isinstance(content.get("clientId"), str):
                    frame["clientId"] = content["clientId"]
                await self.send_json(frame)

    # ---- frames ------------------------------------------------------------------------------
    async def _hello(self, content):
        if not isinstance(content, dict) or content.get("type") != "hello":
            raise WebchatError("bad_request", "the first frame must be {\"type\": \"hello\", ...}")
        session = await database_sync_to_async(services.open_session)(
            self.bot_id, origin=self.origin, host=self.host, hello=content)
        after = content.get("after") if isinstance(content.get("after"), int) else 0
        if session.conversation_id != content.get("conversationId"):
            after = 0  # the client's seq belonged to another conversation
        self.session = session
        await self._follow(max(after, 0))
        ready = await database_sync_to_async(services.ready_frame)(session, self.cursor.seq)
        await self.send_json(ready)
        await self._send_new_messages()

    async def _frame(self, content):
        # The settings may have changed since the socket opened: check on every message.
        self.session.settings = await database_sync_to_async(services.check_origin)(
            self.bot_id, self.origin, self.host)
        result = await database_sync_to_async(services.handle_frame)(self.session, content)
        if result.switched:
            await self._follow(0)
        await self.send_json({**result.reply, "seq": self._seq()})
        if result.process:
            self._process()

    async def _follow(self, after: int):
        await self._follow_conversation(self.session.conversation, after)

    def _process(self):
        self._run_turns(self.session.conversation.pk)

    async def _refuse(self, exc: WebchatError):
        await self.send_json(exc.as_frame(self._seq()))
        await self.close(code=exc.close_code)

    # ---- group messages ----------------------------------------------------------------------
    async def stream_new(self, event):
        if self.cursor is not None and event.get("upTo", 0) > self.cursor.seq:
            await self._send_new_messages()

    async def stream_deleted(self, event):
        if self.cursor is not None:
            await self.send_json(conversation_stream.control_frame("deleted", self._seq(), messageSeqs=event["seqs"]))
