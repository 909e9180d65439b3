"""The Chat API's HTTP front: a plain ASGI application for everything under
`/chat/<webhook id>/` (studio/asgi.py sends those paths here, the rest to Django).

It is not a Django view stack on purpose. The Chat API needs none of the studio's
middleware (sessions, CSRF, static files, authentication of members), and going through it
cost more than the rest of a request: WhiteNoise is sync-only, so Django ran every async
request's middleware on its single sync thread (docs/performance.md, "Chat API"). Here a
request is parsed, routed and answered on the loop; the handlers of `views.py` run on a
request thread, and sending messages and events (the hot path) stays on the loop with
PostgreSQL (`async_messages`).

A trailing slash is optional everywhere: the official client asks for `/hello/`.
"""
from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl

from flows import untrusted_json
from runtime import async_turns, json_codec

from . import async_messages, conf, live, ratelimit, services, views, workers
from .errors import ChatApiError, InvalidPayload, MethodNotFound, NotFound, PayloadTooLarge

logger = logging.getLogger(__name__)

PREFIX = f"/{services.URL_PREFIX}/"
MAX_BODY_BYTES = 1024 * 1024  # Botpress's limit: 413 PayloadTooLarge above it

_CONVERSATION = r"conversations/(?P<conversation_id>[^/]+)"
LISTEN = object()  # the handler of GET .../listen, a stream


def _route(pattern: str, **handlers):
    return re.compile(rf"^{pattern}/?$"), handlers


ROUTES = [
    _route("hello", GET=views.hello),
    _route("users", POST=views.create_user),
    _route("users/get-or-create", POST=views.get_or_create_user),
    _route("users/me", GET=views.get_user, PUT=views.update_user, DELETE=views.delete_user),
    _route("conversations", POST=views.create_conversation, GET=views.list_conversations),
    # "get-or-create" is also a valid conversation id: GET and DELETE still reach it.
    _route("conversations/(?P<conversation_id>get-or-create)", POST=views.get_or_create_conversation,
           GET=views.get_conversation, DELETE=views.delete_conversation),
    _route(_CONVERSATION, GET=views.get_conversation, DELETE=views.delete_conversation),
    _route(_CONVERSATION + "/listen", GET=LISTEN),
    _route(_CONVERSATION + "/cancel", POST=views.cancel_conversation),
    _route(_CONVERSATION + "/messages", GET=views.list_messages),
    _route(_CONVERSATION + "/participants", POST=views.add_participant, GET=views.list_participants),
    _route(_CONVERSATION + r"/participants/(?P<user_id>[^/]+)", GET=views.get_participant,
           DELETE=views.remove_participant),
    _route("messages", POST=views.create_message),
    _route(r"messages/(?P<message_id>[^/]+)", GET=views.get_message, DELETE=views.delete_message),
    _route("events", POST=views.create_event),
    _route(r"events/(?P<event_id>[^/]+)", GET=views.get_event),
    # The seed's `/api/chat/resume-workflow` (docs/workflows.md): a form the client rendered
    # for a paused workflow step.
    _route("resume-workflow", POST=views.resume_workflow),
]


async def application(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    webhook_id, _, rest = scope["path"][len(PREFIX):].partition("/")
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    try:
        _refuse_unstorable(scope)
        handler, params = _resolve(scope["method"], rest)
        key = headers.get("x-user-key")
        client = scope.get("client") or ("", 0)
        await ratelimit.check(webhook_id, f"key:{key}" if key else f"ip:{client[0]}")
        if handler is LISTEN:
            await _listen(scope, receive, send, webhook_id, key, params["conversation_id"], headers)
            return
        body = await read_body(receive, headers) if scope["method"] in ("POST", "PUT") else {}
        call = views.Call(webhook_id=webhook_id, user_key=key, body=body,
                          query=dict(parse_qsl(scope["query_string"].decode("latin-1"))), params=params)
        hot = _HOT.get(handler)
        if hot is not None and async_messages.enabled():
            status, answer = await hot(call)
        else:
            status, answer = await workers.run(views.in_thread, handler, call)
            if call.process is not None:
                await workers.process(call.process)
    except ChatApiError as exc:
        await respond(send, exc.status, exc.body(), _error_headers(exc))
        return
    except Exception:
        logger.exception("Chat API %s %s failed", scope["method"], scope["path"])
        error = ChatApiError("an internal error occurred; it has been logged")
        await respond(send, error.status, error.body())
        return
    await respond(send, status, answer)


def _refuse_unstorable(scope) -> None:
    """Ids and filters from the URL reach PostgreSQL, which cannot compare text holding NUL
    (and no text holds a lone surrogate): refuse them before any lookup."""
    path = scope["path"]
    if "\x00" in path or not _encodable(path):
        raise NotFound("there is no Chat API resource at a path holding a NUL character or a lone surrogate")
    query = scope["query_string"]
    if b"%00" in query or b"\x00" in query:
        raise InvalidPayload("query parameters may not contain the NUL character (\\u0000)")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _resolve(method: str, rest: str):
    for pattern, handlers in ROUTES:
        match = pattern.match(rest)
        if match:
            handler = handlers.get(method)
            if handler is None:
                raise MethodNotFound(f"{method} is not allowed here; use {', '.join(handlers)}")
            return handler, match.groupdict()
    raise NotFound(f"there is no Chat API operation at /{rest}")


async def read_body(receive, headers: dict) -> dict:
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is {int(length)} bytes; the limit is {MAX_BODY_BYTES} (1 MB)")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise asyncio.CancelledError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the request body is over the {MAX_BODY_BYTES} byte (1 MB) limit")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        body = untrusted_json.decode(raw, what="the request body")
    except untrusted_json.UntrustedJSON as exc:
        if exc.kind in ("syntax", "encoding"):
            raise InvalidPayload(f"the request body is not valid JSON: {exc.message}") from None
        raise InvalidPayload(f"the request body is refused at {exc}") from None
    if not isinstance(body, dict):
        raise InvalidPayload("the request body must be a JSON object")
    return body


def _error_headers(exc: ChatApiError) -> dict:
    return ratelimit.headers(exc) if isinstance(exc, ratelimit.RateLimited) else {}


async def respond(send, status: int, body: dict, headers: dict | None = None) -> None:
    data = json_codec.dumps(body)
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw_headers += [(name.lower().encode("latin-1"), str(value).encode("latin-1"))
                    for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": data})


# ---- the hot path: messages and events on the loop ------------------------------------------

async def _create_message(call: views.Call):
    api = await async_messages.api_for_webhook(call.webhook_id)
    conversation, message = await async_messages.create_message(
        api, call.user_key, call.body.get("conversationId"), call.body.get("payload"), call.body.get("metadata"))
    await _wait_for_turn(conversation.pk)
    return 201, {"message": services.message_json(api.bot_id, message, conversation)}


async def _create_event(call: views.Call):
    api = await async_messages.api_for_webhook(call.webhook_id)
    conversation, message = await async_messages.create_event(
        api, call.user_key, call.body.get("conversationId"), call.body.get("payload"))
    await _wait_for_turn(conversation.pk)
    return 201, {"event": services.event_json(api.bot_id, message, conversation)}


async def _wait_for_turn(conversation_pk) -> None:
    # Up to CHAT_API_TURN_WAIT_SECONDS, so for a bot that answers quickly the replies' signals
    # are out before the request's answer (clients such as the @botpress/chat tests rely on
    # that order); a slower turn goes on alone.
    await asyncio.wait({async_turns.process_soon(conversation_pk)},
                       timeout=float(conf.get("CHAT_API_TURN_WAIT_SECONDS")))


_HOT = {views.create_message: _create_message, views.create_event: _create_event}


# ---- listen: Server-Sent Events ---------------------------------------------------------------

async def _listen(scope, receive, send, webhook_id: str, key, conversation_id: str, headers: dict) -> None:
    opened_at = datetime.now(timezone.utc)
    api, user, conversation = await workers.run(views.listen_check, webhook_id, key, conversation_id)
    body = live.stream(user, conversation, last_event_id=headers.get("last-event-id"), opened_at=opened_at,
                       run_db=workers.run)
    # Its first piece (": connected") comes once the stream is subscribed to the hub: only
    # then does the client see the 200, so whatever it does next (remove a participant, send
    # a message) reaches this stream even when the signal is not one the replay reads.
    connected = await body.__anext__()
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]})

    async def pieces():
        yield connected.encode()
        async for text in body:
            yield text.encode()

    client_left, error = await stream_until_disconnect(receive, send, pieces())
    if client_left:
        return
    if error is not None:
        logger.error("Chat API listen stream of conversation %s failed", conversation_id, exc_info=error)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def stream_until_disconnect(receive, send, chunks) -> tuple[bool, BaseException | None]:
    """Send each bytes chunk of `chunks` as a piece of the response body until they end or
    the client goes away (then they are cancelled). (client left, the error they raised)."""

    async def pump():
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def until_disconnect():
        while (await receive())["type"] != "http.disconnect":
            pass

    streaming, watching = asyncio.ensure_future(pump()), asyncio.ensure_future(until_disconnect())
    try:
        await asyncio.wait({streaming, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (streaming, watching):
            task.cancel()
        await asyncio.gather(streaming, watching, return_exceptions=True)
    if streaming.cancelled():
        return True, None
    return False, streaming.exception()
