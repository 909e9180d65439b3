"""The AG-UI endpoint: `POST /agui/<webhook id>` with a RunAgentInput body and the Chat API's
`x-user-key`, answered with the run's events as Server-Sent Events (`data: <json>` each),
the HttpAgent's wire format. studio/asgi.py sends these paths here.

A run lasts until its conversation is quiet: the user's message processed, no workflow of
the conversation running, no Start Workflow card's run still to come. Paused workflow steps
then end it with an interrupt outcome. Until then it follows the stored transcript by seq
(the truth; services.read) and is woken by the Chat API's signals (hub.py), whose streamed
answer pieces it sends on as they come. Nothing here touches the database on the loop.
"""
from __future__ import annotations

import asyncio
import logging
import time

from integrations.chat_api import asgi as chat_api_asgi
from django.conf import settings

from integrations.chat_api import async_messages, ratelimit, workers
from integrations.chat_api.errors import ChatApiError, MethodNotFound, NotFound
from integrations.chat_api.hub import hub
from integrations.chat_api.live import DELTA, TURN
from runtime import async_turns, json_codec

from . import services
from .events import Translator, run_error

logger = logging.getLogger(__name__)

PREFIX = "/agui/"
POLL_SECONDS = 0.5  # the transcript is read again at least this often while the run waits
# A run follows its conversation at most this long (then RUN_FINISHED names the workflows
# still running; a run without new input follows them on).
RUN_SECONDS = 300.0
# How long a Start Workflow card's run may take to appear once the turn is done (it starts on
# a thread after the turn's commit); one that never does (the card's workflow was refused,
# which the bot's logs say) stops being waited for.
START_GRACE_SECONDS = 5.0


_processing: set[asyncio.Future] = set()


def _sse(event: dict) -> bytes:
    return b"data: " + json_codec.dumps(event) + b"\n\n"


async def application(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    webhook_id, _, rest = scope["path"][len(PREFIX):].partition("/")
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    key = headers.get("x-user-key")
    try:
        if "\x00" in scope["path"] or rest.strip("/"):
            raise NotFound(f"there is no AG-UI endpoint at {scope['path']!r}; POST /agui/<webhook id>")
        if scope["method"] != "POST":
            raise MethodNotFound(f"{scope['method']} is not allowed here; POST a RunAgentInput")
        client = scope.get("client") or ("", 0)
        await ratelimit.check(webhook_id, f"key:{key}" if key else f"ip:{client[0]}")
        body = await chat_api_asgi.read_body(receive, headers)
        prepared = await workers.run(services.prepare, webhook_id, key, body)
    except ChatApiError as exc:
        await chat_api_asgi.respond(send, exc.status, exc.body())
        return
    except Exception:
        logger.exception("AG-UI %s %s failed", scope["method"], scope["path"])
        error = ChatApiError("an internal error occurred; it has been logged")
        await chat_api_asgi.respond(send, error.status, error.body())
        return
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]})

    client_left, error = await chat_api_asgi.stream_until_disconnect(receive, send, _run(prepared))
    if client_left:
        return  # what it started goes on
    if error is not None:
        logger.error("AG-UI run of conversation %s failed", prepared.conversation.pk, exc_info=error)
        await send({"type": "http.response.body", "more_body": True,
                    "body": _sse(run_error("an internal error occurred; it has been logged", "INTERNAL"))})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _process(conversation_pk) -> None:
    # As the Chat API's own message path does (asgi.py): on the loop's turn service on
    # PostgreSQL, else a turn thread or a Celery worker.
    if async_messages.enabled():
        async_turns.process_soon(conversation_pk)
    else:
        # Held until done: the loop keeps only a weak reference to a task.
        task = asyncio.ensure_future(workers.process(conversation_pk))
        _processing.add(task)
        task.add_done_callback(_processing.discard)


async def _run(prepared: services.Prepared):
    conversation, run = prepared.conversation, prepared.run
    translator = Translator(run.thread_id, run.run_id)
    # Joined before acting: the pieces of the answer this run causes are never stored.
    queue = await hub.join(conversation.pk)
    try:
        yield b"".join(_sse(e) for e in translator.started())
        try:
            resumed = await workers.run(services.act, prepared)
        except services.RunRefused as refused:
            yield _sse(run_error(refused.message, refused.code))
            return
        events = [e for workflow_id, step_id in resumed for e in translator.resumed(workflow_id, step_id)]
        if events:
            yield b"".join(_sse(e) for e in events)
        if run.text is not None:
            await _process(conversation.pk)
        deadline = time.monotonic() + float(getattr(settings, "FLOWSTUDIO_AGUI_RUN_SECONDS", RUN_SECONDS))
        cursor, idle_since = prepared.cursor, None
        while True:
            snapshot = await workers.run(services.read, conversation, cursor, set(translator.awaited))
            cursor = snapshot["cursor"]
            events = [e for entry in snapshot["entries"] for e in translator.stored(entry)]
            if not snapshot["more"] and not snapshot["busy"] and not snapshot["running"]:
                waiting_start = translator.awaited - snapshot["started"]
                idle_since = idle_since or time.monotonic()
                if not waiting_start or time.monotonic() - idle_since > START_GRACE_SECONDS:
                    yield b"".join(_sse(e) for e in events + translator.finish(snapshot["paused"]))
                    return
            if time.monotonic() > deadline:
                yield b"".join(_sse(e) for e in events + translator.timed_out(snapshot["running"]))
                return
            if events:
                yield b"".join(_sse(e) for e in events)
            if snapshot["more"]:
                continue
            async for chunk in _pieces(queue, translator):
                yield chunk
    finally:
        await hub.leave(conversation.pk, queue)


async def _pieces(queue: asyncio.Queue, translator: Translator):
    """Wait for the conversation's next signal (at most POLL_SECONDS), sending on the streamed
    answer's pieces; returns when a stored change (or the timer) calls for a read."""
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), timeout=POLL_SECONDS)
        except asyncio.TimeoutError:
            return
        stored = False
        while True:
            signal = item[0]
            if signal.get("type") == DELTA:
                events = translator.delta(signal.get(TURN), signal["data"])
                if events:
                    yield b"".join(_sse(e) for e in events)
            else:
                stored = True  # a message, an event, an overflow: the transcript says what
            if queue.empty():
                break
            item = queue.get_nowait()
        if stored:
            return
