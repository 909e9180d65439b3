"""Turns of the conversations live clients follow over a websocket or the HTTP fallback (the
webchat, the emulator): the typing indicator on while the bot works, the turn service's
executor, then an optional message to the conversation's clients once the turns are done.

On PostgreSQL the turns go through the loop's executor (runtime/async_turns.py), as the Chat
API's do: engine work on the engine pool, no thread or database connection held while a turn
waits. Elsewhere (SQLite, the embedded default) the ORM executor runs them on a thread.
Either way the caller is async code on the server's loop and never waits on the engine.
"""
from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from runtime import async_turns, conversation_stream, delivery, pg, turns


async def process(conversation_pk, *, then: dict | None = None) -> None:
    """Run the conversation's stored events. `then`, a channel-layer message, goes to the
    conversation's group afterwards, behind the replies' own (same queue, same order)."""
    group = conversation_stream.group_name(conversation_pk)
    conversation_stream.send_typing(conversation_pk, True)
    try:
        if pg.available():
            await async_turns.process_soon(conversation_pk)
        else:
            await sync_to_async(_process_on_thread, thread_sensitive=False)(conversation_pk)
    finally:
        conversation_stream.send_typing(conversation_pk, False)
        if then is not None:
            delivery.send_to_group(group, then)


def _process_on_thread(conversation_pk) -> None:
    try:
        turns.process_pending(conversation_pk)
    finally:
        close_old_connections()  # worker threads outlive requests
