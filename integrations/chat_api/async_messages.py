"""createMessage and createEvent on the server's event loop, with PostgreSQL: the Chat API's
hot path (docs/performance.md). The same checks and rows as `services.create_message` and
`services.create_event`, which serve every other database; the event is stored and its
turn run by `runtime.async_turns`, the loop's executor of the turn service.

Per message: the key is checked in memory, one statement finds the sender and the
conversation they take part in, one stores the event. Anything unusual (an unknown key, a
conversation the user is not in, settings not cached) takes the sync path on a thread,
which raises the precise error.
"""
from __future__ import annotations

from collections import OrderedDict

from runtime import async_turns, pg
from runtime.models import EVENT_MESSAGE_TYPE, Conversation, EndUser

from . import services, wire, workers
from .errors import InvalidPayload, NotFound
from .models import Participant

_P, _U, _C = Participant._meta.db_table, EndUser._meta.db_table, Conversation._meta.db_table
_USER_COLUMNS = ["id", "bot_id", "external_id", "name", "created_at", "updated_at"]
_CONVERSATION_COLUMNS = ["id", "bot_id", "user_id", "external_id", "channel", "is_draft", "created_at", "updated_at"]
_PARTICIPATION = f"""
SELECT {", ".join("u." + c for c in _USER_COLUMNS)}, {", ".join("c." + c for c in _CONVERSATION_COLUMNS)}
FROM {_P} p JOIN {_U} u ON u.id = p.user_id JOIN {_C} c ON c.id = p.conversation_id
WHERE u.bot_id = %s AND u.external_id = %s AND c.bot_id = %s AND c.external_id = %s AND c.channel = %s
"""

# Verified keys: (encryption key, user key) -> user id. HS256 costs little, but the same few
# keys come back on every request of a busy backend.
_KEYS_SIZE = 4096
_keys: OrderedDict = OrderedDict()


def enabled() -> bool:
    """The loop's path serves messages when the database is PostgreSQL and turns run in the
    web process (with CHAT_API_TURNS=celery a worker runs them)."""
    from . import conf

    return (pg.available() and conf.get("CHAT_API_TURNS") != "celery"
            and str(conf.get("CHAT_API_ASYNC")).lower() not in ("off", "0", "false"))


async def api_for_webhook(webhook_id: str) -> services.Api:
    api = services.cached_api_for_webhook(webhook_id)
    if api is services.NOT_CACHED:
        api = await workers.run(services.api_for_webhook, webhook_id)
    return api


def _user_id(api: services.Api, key: str | None) -> str:
    cache_key = (api.encryption_key, key)
    found = _keys.get(cache_key)
    if found is None:
        found = services.user_id_for_key(api, key)  # Unauthorized for a bad key
        _keys[cache_key] = found
        while len(_keys) > _KEYS_SIZE:
            _keys.popitem(last=False)
    return found


async def participation(api: services.Api, key: str | None, conversation_id) -> tuple[EndUser, Conversation]:
    user_id = _user_id(api, key)
    if isinstance(conversation_id, str) and conversation_id:
        async with (await pg.pool()).connection() as conn:
            cursor = await conn.execute(_PARTICIPATION, (api.bot_id, user_id, api.bot_id, conversation_id,
                                                         services.CHANNEL))
            row = await cursor.fetchone()
        if row is not None:
            n = len(_USER_COLUMNS)
            user = EndUser(**dict(zip(_USER_COLUMNS, row[:n])))
            conversation = Conversation(**dict(zip(_CONVERSATION_COLUMNS, row[n:])))
            user._state.adding = conversation._state.adding = False
            return user, conversation
    # Not a participant, or no such user or conversation: the sync path says which.
    return await workers.run(services.participation, api, key, conversation_id)


# Who is who in a conversation, as found before: (bot, user id, conversation id) -> (user,
# conversation). Never trusted alone: storing the event checks in the same statement that the
# sender still takes part in that conversation (`_STILL_PARTICIPANT`), and looks again when not.
_SEEN_SIZE = 4096
_seen: OrderedDict = OrderedDict()
_STILL_PARTICIPANT = f"EXISTS (SELECT 1 FROM {_P} p WHERE p.conversation_id = c.id AND p.user_id = %s)"


async def _participant(api: services.Api, key, conversation_id):
    if not isinstance(conversation_id, str):  # not a key to remember; participation() names the error
        return None, await participation(api, key, conversation_id)
    seen_key = (api.bot_id, _user_id(api, key), conversation_id)
    found = _seen.get(seen_key)
    if found is None:
        found = _seen[seen_key] = await participation(api, key, conversation_id)
        while len(_seen) > _SEEN_SIZE:
            _seen.popitem(last=False)
    return seen_key, found


async def _receive(api: services.Api, key, conversation_id, kind: str, fields: dict, metadata=None):
    for attempt in (1, 2):
        seen_key, (user, conversation) = await _participant(api, key, conversation_id)
        try:
            event = await async_turns.receive_event(conversation, kind, fields, user=user, metadata=metadata,
                                                    guard=(_STILL_PARTICIPANT, [user.pk]))
            return conversation, event.incoming_message
        except Conversation.DoesNotExist:
            # Removed from it, or the conversation was deleted (and perhaps made anew) since
            # it was seen: look again, which raises the right error or finds the new one.
            _seen.pop(seen_key, None)
    raise NotFound(f"conversation {conversation_id!r} does not exist")


async def create_message(api: services.Api, key, conversation_id, payload, metadata):
    """(conversation, stored message); its turn is then `async_turns.process_soon`."""
    await _participant(api, key, conversation_id)  # its errors come first, as on the sync path
    kind, fields = wire.check_message_payload(payload)
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidPayload("metadata must be an object")
    return await _receive(api, key, conversation_id, kind, fields, metadata)


async def create_event(api: services.Api, key, conversation_id, payload):
    await _participant(api, key, conversation_id)
    if not isinstance(payload, dict):
        raise InvalidPayload("payload must be an object")
    return await _receive(api, key, conversation_id, EVENT_MESSAGE_TYPE, payload)
