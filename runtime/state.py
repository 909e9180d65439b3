"""The state API: named JSON values kept per conversation, end user, bot or workflow.

Semantics follow seed 001 (`conversations-users-state-api`): `get` (absent is an error),
`set` (overwrite), `get_or_set` (existing, or initialised with the given payload), `list`
and `delete`; four scopes keyed by `(type, id, name)`. docs/state-api.md has the details and
the decisions the seed leaves open, in short:

- Expiry is in seconds (the seed's unit), counted from the last write; a read does not
  extend it. An expired state is gone for readers at once; the beat task
  (`runtime.tasks.fire_due_states`) then deletes it and sends a `state_expired` event with
  the state into its conversation through the turn service. A write that finds an expired
  state it replaces fires that expiry first, so no expiry is ever lost.
- Which conversation hears the expiry: a conversation state its own conversation; a user
  state the user's most recently active conversation; a bot or workflow state the
  conversation named when it was written (`conversation_id`), else none.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from runtime import turns
from runtime.models import Conversation, EndUser, State

logger = logging.getLogger(__name__)

STATE_TYPES = tuple(State.Type.values)
# The platform's limit for one state (platform inventory 5.9).
MAX_PAYLOAD_BYTES = 128 * 1024
MAX_EXPIRY_SECONDS = 366 * 24 * 3600
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
EXPIRED_EVENT = "state_expired"
# Bounded so one beat tick cannot run for ever; the rest wait for the next tick.
EXPIRY_BATCH = 200


class StateInvalid(ValueError):
    """A request the state API cannot accept; `field` names the offending input."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


class StateTooLarge(StateInvalid):
    pass


class StateNotFound(LookupError):
    pass


class ScopeNotFound(LookupError):
    """The conversation, user or bot a state would belong to does not exist."""


@dataclass(frozen=True)
class Scope:
    bot: object  # flows.Bot
    type: str
    id: str
    # Where this scope's expiries go, when the scope itself says so (conversation states).
    conversation: Conversation | None = None


def resolve_scope(bot, state_type: str, scope_id: str) -> Scope:
    if state_type not in STATE_TYPES:
        raise StateInvalid("type", f"unknown state type {state_type!r}; use one of {', '.join(STATE_TYPES)}")
    if not isinstance(scope_id, str) or not scope_id or len(scope_id) > 255:
        raise StateInvalid("id", "the scope id is a string of 1 to 255 characters")
    if state_type == State.Type.CONVERSATION:
        conversation = Conversation.objects.filter(bot=bot, external_id=scope_id).first()
        if conversation is None:
            raise ScopeNotFound(f"bot {bot.name!r} has no conversation {scope_id!r}")
        return Scope(bot, state_type, scope_id, conversation)
    if state_type == State.Type.USER:
        if not EndUser.objects.filter(bot=bot, external_id=scope_id).exists():
            raise ScopeNotFound(f"bot {bot.name!r} has no user {scope_id!r}")
    elif state_type == State.Type.BOT and scope_id != str(bot.pk):
        raise ScopeNotFound(f"the id of a bot state is the bot's own id ({bot.pk}), not {scope_id!r}")
    return Scope(bot, state_type, scope_id)


def _check_name(name) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise StateInvalid("name", "a state name is 1 to 100 letters, digits or _ . : -")
    return name


def _check_payload(payload) -> dict:
    if not isinstance(payload, dict):
        raise StateInvalid("payload", "the payload of a state is a JSON object")
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise StateTooLarge("payload", f"the payload is {size} bytes; a state holds at most {MAX_PAYLOAD_BYTES}")
    return payload


def _check_expiry(expiry) -> int | None:
    if expiry is None:
        return None
    if isinstance(expiry, bool) or not isinstance(expiry, int) or not 1 <= expiry <= MAX_EXPIRY_SECONDS:
        raise StateInvalid("expiry", f"expiry is a whole number of seconds from 1 to {MAX_EXPIRY_SECONDS}, or null")
    return expiry


def _notify_conversation(scope: Scope, conversation_id: str | None) -> Conversation | None:
    if scope.conversation is not None:
        return scope.conversation
    if conversation_id is None:
        return None
    conversation = Conversation.objects.filter(bot=scope.bot, external_id=conversation_id).first()
    if conversation is None:
        raise ScopeNotFound(f"bot {scope.bot.name!r} has no conversation {conversation_id!r}")
    return conversation


def _live(queryset, now: datetime):
    return queryset.exclude(expires_at__lte=now)


def _scoped(scope: Scope):
    return State.objects.filter(bot=scope.bot, type=scope.type, scope_id=scope.id)


# --- reading -------------------------------------------------------------------------------

def get_state(scope: Scope, name: str) -> State:
    state = _live(_scoped(scope).filter(name=_check_name(name)), timezone.now()).first()
    if state is None:
        raise StateNotFound(f"no {scope.type} state {name!r} for {scope.id!r}")
    return state


def list_states(scope: Scope):
    return _live(_scoped(scope), timezone.now()).order_by("name")


# --- writing -------------------------------------------------------------------------------

def set_state(scope: Scope, name: str, payload: dict, *, expiry: int | None = None,
              conversation_id: str | None = None) -> State:
    """Create or overwrite the state; `expiry` (seconds) restarts from now, None = never."""
    state, _ = _write(scope, name, payload, expiry, conversation_id, overwrite=True)
    return state


def get_or_set_state(scope: Scope, name: str, payload: dict, *, expiry: int | None = None,
                     conversation_id: str | None = None) -> tuple[State, bool]:
    """The live state, untouched; or a new one with `payload`. Returns (state, created)."""
    return _write(scope, name, payload, expiry, conversation_id, overwrite=False)


def delete_state(scope: Scope, name: str) -> None:
    with transaction.atomic():
        state = _scoped(scope).select_for_update().filter(name=_check_name(name)).first()
        if state is None or _is_due(state, timezone.now()):
            raise StateNotFound(f"no {scope.type} state {name!r} for {scope.id!r}")
        state.delete()


def _write(scope, name, payload, expiry, conversation_id, *, overwrite: bool) -> tuple[State, bool]:
    name, payload, expiry = _check_name(name), _check_payload(payload), _check_expiry(expiry)
    notify = _notify_conversation(scope, conversation_id)
    fired_in = None
    with transaction.atomic():
        now = timezone.now()
        # The row lock (or, for a new name, the unique constraint) orders concurrent writers.
        current = _scoped(scope).select_for_update().filter(name=name).first()
        if current is not None and _is_due(current, now):
            fired_in = _expire(current)
            current = None
        if current is not None and not overwrite:
            return current, False
        fields = {
            "payload": payload,
            "expiry_seconds": expiry,
            "expires_at": now + timedelta(seconds=expiry) if expiry else None,
            "conversation": notify,
        }
        if current is None:
            state, created = State.objects.get_or_create(
                bot=scope.bot, type=scope.type, scope_id=scope.id, name=name, defaults=fields
            )
            if not created and overwrite:
                _update(state, fields)
        else:
            state, created = current, False
            _update(state, fields)
    if fired_in is not None:
        _process(fired_in)
    return state, created


def _update(state: State, fields: dict) -> None:
    for key, value in fields.items():
        setattr(state, key, value)
    state.save(update_fields=[*fields, "updated_at"])


# --- expiry --------------------------------------------------------------------------------

def _is_due(state: State, now: datetime) -> bool:
    return state.expires_at is not None and state.expires_at <= now


def as_dict(state: State) -> dict:
    """A state as the API and the `state_expired` event show it (seed 001's State type)."""
    return {
        "type": state.type,
        "id": state.scope_id,
        "name": state.name,
        "payload": state.payload,
        "expiry": state.expiry_seconds,
        "createdAt": _iso(state.created_at),
        "updatedAt": _iso(state.updated_at),
        "expiresAt": _iso(state.expires_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _expiry_target(state: State) -> Conversation | None:
    if state.type == State.Type.USER:
        return (Conversation.objects.filter(bot_id=state.bot_id, user__external_id=state.scope_id)
                .order_by("-updated_at", "-pk").first())
    return state.conversation


def _expire(state: State) -> int | None:
    """Delete a due state (row locked by the caller) and store its `state_expired` event.
    Returns the conversation to process, if the expiry went into one."""
    conversation = _expiry_target(state)
    event_payload = {"state": as_dict(state)}
    state.delete()
    if conversation is None:
        return None
    turns.receive_event(conversation, EXPIRED_EVENT, event_payload)
    return conversation.pk


def _process(conversation_id) -> None:
    try:
        turns.process_pending(conversation_id)
    except Exception:
        # The event is stored; a failing turn must not undo the expiry or stop the others.
        logger.exception("processing state_expired in conversation %s failed", conversation_id)


def fire_due_states(limit: int = EXPIRY_BATCH) -> int:
    """Expire every due state (up to `limit`) and return how many expired.

    The due rows are deleted and their `state_expired` events stored in one transaction;
    then each conversation that got one is processed. Rows another worker holds are
    skipped, so concurrent ticks never fire one state twice."""
    conversations = []
    with transaction.atomic():
        due = list(
            State.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(expires_at__lte=timezone.now())
            .order_by("expires_at")[:limit]
        )
        for state in due:
            conversation_id = _expire(state)
            if conversation_id is not None and conversation_id not in conversations:
                conversations.append(conversation_id)
    for conversation_id in conversations:
        _process(conversation_id)
    return len(due)
