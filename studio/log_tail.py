"""The Logs page's live tail over a websocket: `/ws/bots/<bot>/logs/?after=<event id>&level=&q=`
(docs/dashboard.md, "Logs"). A thin shell: who may connect is `operations.authorize_tail`
(the studio session and the Logs page's permission, checked again before every push), what
is read is `operations.log_page`, the page's own service.

Frames, server to client: `{"type": "ready", "after": n}` once; then `{"type": "lines",
"html": "...", "count": n, "after": n}` with the new lines (newest first, as the page shows
them) whenever a turn of the bot stored some; `{"type": "error", "message": ...}` before a
refusal closes the socket (4400 bad filter, 4401, 4403, 4404). The client sends nothing.

A turn still running holds the tail back (its lines are read once it settles, as the polling
tail does); its settling may write no line and so announce nothing, so the socket also reads
again every `RECHECK_SECONDS` while it is open."""
from __future__ import annotations

import asyncio
import logging

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.security.websocket import AllowedHostsOriginValidator
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import path

from runtime import conversation_stream, live_logs
from studio import operations
from studio.query_params import InvalidFilter

logger = logging.getLogger(__name__)
# As many lines as a poll of the page's tail returns at most (studio/views/operations.py).
PUSH_SIZE = 500
RECHECK_SECONDS = 5.0


def _read(studio_user, bot_id, filters, after: int) -> tuple[dict, int]:
    """(the lines frame, the next `after`): permission checked again first."""
    bot = operations.authorize_tail(studio_user, bot_id)
    page = operations.log_page(bot, filters, after=after, size=PUSH_SIZE)
    html = "".join(render_to_string("studio/_log_line.html", {"line": line, "bot": bot}) for line in page.lines)
    return {"type": "lines", "html": html, "count": len(page.lines), "after": page.newest}, page.newest


class LogTailConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        conversation_stream.serve_from(asyncio.get_running_loop())  # the in-memory layer needs it
        self.group = None
        self.reading = None
        self.again = False
        self.recheck = None
        await self.accept()  # first, so a refusal can say why before closing
        bot_id = self.scope["url_route"]["kwargs"]["bot_id"]
        query = QueryDict(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            self.filters = operations.LogFilters.from_query(query)
            after = operations.event_id_param(query, "after")
        except InvalidFilter as exc:
            return await self._refuse(4400, str(exc))
        try:
            bot = await database_sync_to_async(operations.authorize_tail)(self.scope.get("user"), bot_id)
        except operations.TailRefused as exc:
            return await self._refuse(exc.code, exc.reason)
        self.bot_id = bot.pk
        self.group = live_logs.group_name(bot.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        # Without `after` the client shows nothing yet: start from the newest settled turn.
        self.after = after if after is not None else await database_sync_to_async(operations.tail_start)(bot)
        await self.send_json({"type": "ready", "after": self.after})
        self._schedule()  # lines stored between the page's read and this socket
        self.recheck = asyncio.ensure_future(self._recheck())

    async def disconnect(self, code):
        if self.recheck is not None:
            self.recheck.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        pass  # nothing to say: the socket only listens

    async def logs_stored(self, event):
        self._schedule()

    def _schedule(self):
        """One read at a time; notices during a read make one more read after it."""
        if self.reading is not None and not self.reading.done():
            self.again = True
            return
        self.reading = asyncio.ensure_future(self._push())

    async def _push(self):
        while True:
            self.again = False
            try:
                frame, self.after = await database_sync_to_async(_read)(
                    self.scope.get("user"), self.bot_id, self.filters, self.after)
            except operations.TailRefused as exc:
                return await self._refuse(exc.code, exc.reason)
            except Exception:
                # Logged, and the socket stays: the next notice or recheck reads from `after`.
                logger.exception("the log tail of bot %s could not read its new lines", self.bot_id)
                return
            if frame["count"]:
                await self.send_json(frame)
            if not self.again:
                return

    async def _recheck(self):
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            self._schedule()

    async def _refuse(self, code: int, message: str):
        await self.send_json({"type": "error", "message": message})
        await self.close(code=code)


# Authenticated by the studio session cookie: only the studio's own hosts may open it.
websocket_urlpatterns = [
    path("ws/bots/<str:bot_id>/logs/", AllowedHostsOriginValidator(AuthMiddlewareStack(LogTailConsumer.as_asgi()))),
]
