"""The studio's ASGI application plus one bench-only websocket, `/bench/echo/`: a bare
Channels consumer that sends every text frame back through the channel layer (a group of
its own on the Redis layer, as the webchat's replies go through the conversation's group).

`bench/webchat_ws.py` serves this module, not `studio.asgi`, so the bot's websocket and the
echo run in the same server process on the same Channels stack; the echo is the peer the
webchat is measured against. It lives in bench/ because no product code should answer it.
"""
from __future__ import annotations

import os
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

from channels.generic.websocket import AsyncWebsocketConsumer

from studio.asgi import application as studio  # sets Django up, so it comes first


ECHO_PATH = "/bench/echo/"


class EchoConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.group = f"bench-echo-{uuid.uuid4().hex}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.group_send(self.group, {"type": "echo.frame", "text": text_data or ""})

    async def echo_frame(self, event):
        await self.send(text_data=event["text"])


_echo = EchoConsumer.as_asgi()


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"] == ECHO_PATH:
        return await _echo(scope, receive, send)
    return await studio(scope, receive, send)
