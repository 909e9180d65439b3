"""The floor of a Chat API turn on this machine: what `bench/chat_api.py` measures, with
nothing of Flowstudio in it.

A bare ASGI application (no Django, no engine, no Channels) that serves exactly the
endpoints the load generator uses, with the same JSON shapes:

    POST /chat/<id>/users/get-or-create          201 {"user": {...}}
    POST /chat/<id>/conversations                201 {"conversation": {"id": ...}}
    GET  /chat/<id>/conversations/<c>/listen     Server-Sent Events, `message_created` signals
    POST /chat/<id>/messages                     201 {"message": {...}}, after the reply is out

and does the PostgreSQL work a turn must do, in as few round trips as the real server
(`runtime/async_turns.py`) uses: one autocommitted statement storing the user's message
with its seq; then, pipelined, BEGIN and the conversation's row locked and loaded; one
statement storing the reply with its seq and the conversation's new state, and COMMIT;
then the reply is pushed to the conversation's stream (in memory) before createMessage
answers. The "bot" is a two-line state machine: "What is your name?" / "Hello NAME".

It runs under the same server (uvicorn, uvloop, httptools) on the same PostgreSQL
(DATABASE_URL), in tables of its own (schema `bench_floor`, emptied after each run), and
`bench/chat_api.py` drives it with the same load generator and the same users; what
Flowstudio does beyond this floor is the price of the product. Run by hand:

    python bench/chat_api.py --only floor      # the floor alone, started by the bench
    DATABASE_URL=postgres://... python -m uvicorn --app-dir bench floor:application --port 8100
"""
from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

import orjson

SCHEMA = "bench_floor"
TABLES = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.end_user (
    id bigserial PRIMARY KEY, external_id text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS {SCHEMA}.conversation (
    id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES {SCHEMA}.end_user(id),
    state jsonb NOT NULL DEFAULT '{{}}', next_seq integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS {SCHEMA}.message (
    id bigserial PRIMARY KEY, conversation_id bigint NOT NULL REFERENCES {SCHEMA}.conversation(id),
    seq integer NOT NULL, direction text NOT NULL, payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (conversation_id, seq));
"""

# The user's message, with a seq taken from its conversation (only if the sender owns it).
_STORE_INCOMING = f"""
WITH c AS (UPDATE {SCHEMA}.conversation SET next_seq = next_seq + 1, updated_at = now()
           WHERE id = %s AND user_id = %s RETURNING id, next_seq - 1 AS seq)
INSERT INTO {SCHEMA}.message (conversation_id, seq, direction, payload)
SELECT c.id, c.seq, 'incoming', %s FROM c RETURNING id, seq
"""
_LOCK_AND_LOAD = f"SELECT state, next_seq FROM {SCHEMA}.conversation WHERE id = %s FOR UPDATE"
_STORE_REPLY = f"""
WITH c AS (UPDATE {SCHEMA}.conversation SET next_seq = next_seq + 1, state = %s, updated_at = now()
           WHERE id = %s RETURNING id, next_seq - 1 AS seq)
INSERT INTO {SCHEMA}.message (conversation_id, seq, direction, payload)
SELECT c.id, c.seq, 'outgoing', %s FROM c RETURNING id, seq
"""


def conninfo() -> str:
    url = urlsplit(os.environ.get("DATABASE_URL", ""))
    if url.scheme not in ("postgres", "postgresql"):
        raise SystemExit("bench/floor.py measures PostgreSQL: set DATABASE_URL")
    return os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)


def prepare() -> None:
    """Create the floor's tables (once) and empty them."""
    import psycopg

    with psycopg.connect(conninfo(), autocommit=True) as conn:
        conn.execute(TABLES)
        conn.execute(f"TRUNCATE {SCHEMA}.message, {SCHEMA}.conversation, {SCHEMA}.end_user")


clean_up = prepare


# ---- the server ------------------------------------------------------------------------------

_pool = None
_streams: dict[int, asyncio.Queue] = {}  # conversation id -> its open stream's queue
_users: dict[str, int] = {}  # user key -> user id (the real server caches verified keys too)
_owners: dict[int, int] = {}  # conversation id -> user id


async def _open_pool():
    global _pool
    from psycopg.types.json import set_json_dumps, set_json_loads
    from psycopg_pool import AsyncConnectionPool

    async def configure(conn):
        set_json_dumps(orjson.dumps, conn)
        set_json_loads(orjson.loads, conn)

    # The same pool settings as runtime/pg.py: autocommit, statements prepared on first use.
    _pool = AsyncConnectionPool(conninfo(), min_size=2, max_size=10, open=False, configure=configure,
                                kwargs={"autocommit": True, "prepare_threshold": 0})
    await _pool.open()
    async with _pool.connection() as conn:  # so it also runs on its own, started by hand
        await conn.execute(TABLES, prepare=False)


async def _read_json(receive) -> dict:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    raw = b"".join(chunks)
    return orjson.loads(raw) if raw.strip() else {}


async def _respond(send, status: int, body: dict) -> None:
    data = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


async def get_or_create_user(key: str, body: dict):
    async with _pool.connection() as conn:
        cursor = await conn.execute(
            f"INSERT INTO {SCHEMA}.end_user (external_id) VALUES (%s) "
            "ON CONFLICT (external_id) DO UPDATE SET external_id = EXCLUDED.external_id RETURNING id", (key,))
        (user_id,) = await cursor.fetchone()
    _users[key] = user_id
    return 201, {"user": {"id": str(user_id)}}


async def create_conversation(key: str, body: dict):
    user_id = _users.get(key or "")
    if user_id is None:
        return 401, {"message": "unknown user key"}
    async with _pool.connection() as conn:
        cursor = await conn.execute(f"INSERT INTO {SCHEMA}.conversation (user_id) VALUES (%s) RETURNING id",
                                    (user_id,))
        (conversation_id,) = await cursor.fetchone()
    _owners[conversation_id] = user_id
    return 201, {"conversation": {"id": str(conversation_id)}}


def _reply(state: dict, text: str) -> tuple[dict, str]:
    if state.get("asked"):
        return {"asked": False}, f"Hello {text}"
    return {"asked": True}, "What is your name?"


async def create_message(key: str, body: dict):
    from psycopg.types.json import Jsonb

    user_id = _users.get(key or "")
    try:
        conversation_id = int(body.get("conversationId"))
    except (TypeError, ValueError):
        return 400, {"message": "conversationId must be a conversation's id"}
    payload = body.get("payload") or {}
    async with _pool.connection() as conn:
        cursor = await conn.execute(_STORE_INCOMING, (conversation_id, user_id, Jsonb(payload)))
        stored = await cursor.fetchone()
        if stored is None:
            return 404, {"message": f"conversation {conversation_id} is not this user's"}
        # The turn: lock and load, then store the reply and the new state, commit: two round trips.
        async with conn.pipeline(), conn.transaction():
            cursor = await conn.execute(_LOCK_AND_LOAD, (conversation_id,))
            state, _ = await cursor.fetchone()
            state, text = _reply(state, str(payload.get("text", "")))
            reply = {"type": "text", "text": text}
            written = await conn.execute(_STORE_REPLY, (Jsonb(state), conversation_id, Jsonb(reply)))
        reply_id, reply_seq = await written.fetchone()
    queue = _streams.get(conversation_id)
    if queue is not None:
        queue.put_nowait({"type": "message_created", "data": {
            "id": str(reply_id), "seq": reply_seq, "conversationId": str(conversation_id), "isBot": True,
            "payload": reply}})
    return 201, {"message": {"id": str(stored[0]), "conversationId": str(conversation_id),
                             "payload": payload, "userId": str(user_id)}}


async def listen(scope, receive, send, key: str, conversation_id: str) -> None:
    user_id = _users.get(key or "")
    conversation = int(conversation_id) if conversation_id.isdigit() else None
    if user_id is None or _owners.get(conversation) != user_id:
        await _respond(send, 404, {"message": "no such conversation for this user"})
        return
    queue = _streams[conversation] = asyncio.Queue()
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})

    async def pump():
        while True:
            signal = await queue.get()
            await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(signal) + b"\n\n",
                        "more_body": True})

    async def until_disconnect():
        while (await receive())["type"] != "http.disconnect":
            pass

    tasks = {asyncio.ensure_future(pump()), asyncio.ensure_future(until_disconnect())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        _streams.pop(conversation, None)


ROUTES = {("POST", "users/get-or-create"): get_or_create_user, ("POST", "conversations"): create_conversation,
          ("POST", "messages"): create_message}


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await _open_pool()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    # /chat/<webhook id>/<operation>
    parts = scope["path"].strip("/").split("/", 2)
    rest = parts[2] if len(parts) == 3 else ""
    key = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-user-key"), None)
    if scope["method"] == "GET" and rest.startswith("conversations/") and rest.endswith("/listen"):
        await listen(scope, receive, send, key, rest.split("/")[1])
        return
    handler = ROUTES.get((scope["method"], rest))
    if handler is None:
        await _respond(send, 404 if scope["method"] == "GET" else 405, {"message": f"no operation at /{rest}"})
        return
    status, body = await handler(key, await _read_json(receive))
    await _respond(send, status, body)
