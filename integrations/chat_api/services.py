"""What the Chat API does, as plain functions: settings, users, conversations, participants,
messages and events. Views only parse HTTP and call these; every message and custom event
goes through `runtime.turns`, like every other channel.

Functions raise the errors of `errors.py`; they never return half-done work (each write is
one transaction).
"""
from __future__ import annotations

import base64
import binascii
import time
import uuid
from dataclasses import dataclass

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from flows.models import Bot
from runtime import outbound, turns, workflows
from runtime.models import EVENT_MESSAGE_TYPE, Conversation, EndUser, Message

from . import auth, wire
from .errors import AlreadyExists, Forbidden, InvalidPayload, NotFound
from .models import ChatApiSettings, ChatUser, Participant

# Conversation.channel of Chat API conversations; the API sees no other channel's.
CHANNEL = "chat_api"
URL_PREFIX = "chat"
# How long a process trusts its cached copy of a bot's settings (a change made in another
# process, e.g. a replaced key, takes effect within this time).
SETTINGS_TTL_SECONDS = 5.0


# ---- settings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Api:
    """A bot's Chat API as a request sees it (cached, secrets decrypted once)."""

    bot_id: object
    webhook_id: str
    enabled: bool
    encryption_key: str
    webhook_url: str
    webhook_secret: str

    @property
    def bot_user_id(self) -> str:
        return wire.bot_user_id(self.bot_id)


_by_webhook: dict[str, tuple[float, Api | None]] = {}
_by_bot: dict[object, tuple[float, Api | None]] = {}


def _snapshot(row: ChatApiSettings) -> Api:
    return Api(bot_id=row.bot_id, webhook_id=row.webhook_id, enabled=row.enabled,
               encryption_key=row.encryption_key, webhook_url=row.webhook_url,
               webhook_secret=row.webhook_secret)


NOT_CACHED = object()


def _hit(cache: dict, key):
    """The cached Api (or None: known not to exist) if still fresh, else NOT_CACHED."""
    hit = cache.get(key)
    if hit is None or time.monotonic() - hit[0] >= SETTINGS_TTL_SECONDS:
        return NOT_CACHED
    return hit[1]


def _cached(cache: dict, key, load) -> Api | None:
    api = _hit(cache, key)
    if api is not NOT_CACHED:
        return api
    row = load()
    api = _snapshot(row) if row is not None else None
    now = time.monotonic()
    cache[key] = (now, api)
    if api is not None:  # found by either key: the other one is known too
        _by_webhook[api.webhook_id] = _by_bot[api.bot_id] = (now, api)
    return api


def cached_api_for_webhook(webhook_id: str):
    """`api_for_webhook` when this process has it cached (no query), else NOT_CACHED."""
    api = _hit(_by_webhook, webhook_id)
    return api if api is NOT_CACHED else _enabled(api, webhook_id)


def cached_api_for_bot(bot_id):
    """`api_for_bot` when this process has it cached (no query), else NOT_CACHED."""
    return _hit(_by_bot, bot_id)


def forget_cached_settings() -> None:
    _by_webhook.clear()
    _by_bot.clear()


def api_for_webhook(webhook_id: str) -> Api:
    """The enabled Chat API behind a base URL; NotFound for an unknown or disabled one."""
    return _enabled(_cached(_by_webhook, webhook_id,
                            lambda: ChatApiSettings.objects.filter(webhook_id=webhook_id).first()), webhook_id)


def _enabled(api: Api | None, webhook_id: str) -> Api:
    if api is None or not api.enabled:
        raise NotFound(f"no Chat API at webhook id {webhook_id!r}")
    return api


def api_for_bot(bot_id) -> Api | None:
    return _cached(_by_bot, bot_id, lambda: ChatApiSettings.objects.filter(bot_id=bot_id).first())


def chat_api_settings(bot: Bot) -> ChatApiSettings:
    """The bot's Chat API settings, created (disabled, with a webhook id and a new key) on
    first use."""
    row = ChatApiSettings.objects.filter(bot=bot).first()
    if row is not None:
        return row
    row = ChatApiSettings(bot=bot)
    row.encryption_key = ChatApiSettings.generate_secret()
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # created meanwhile by another request
        return ChatApiSettings.objects.get(bot=bot)
    return row


def base_url(row: ChatApiSettings) -> str:
    return f"{django_settings.PUBLIC_URL}/{URL_PREFIX}/{row.webhook_id}"


def update_chat_api(bot: Bot, *, enabled: bool | None = None, rotate_key: bool = False,
                    encryption_key: str | None = None, webhook_url: str | None = None,
                    webhook_secret: str | None = None) -> ChatApiSettings:
    """Change the settings the studio exposes. A new key (given, or generated with
    `rotate_key`) invalidates every user key signed with the old one. A webhook URL without
    a secret gets a generated one; `webhook_url=""` turns the webhook off."""
    row = chat_api_settings(bot)
    if enabled is not None:
        row.enabled = bool(enabled)
    if encryption_key is not None:
        if not isinstance(encryption_key, str) or len(encryption_key) < 16:
            raise InvalidPayload("the encryption key must be at least 16 characters")
        row.encryption_key = encryption_key
    elif rotate_key:
        row.encryption_key = ChatApiSettings.generate_secret()
    if webhook_url is not None:
        if webhook_url:
            try:
                URLValidator(schemes=["http", "https"])(webhook_url)
            except ValidationError:
                raise InvalidPayload(f"webhook URL {webhook_url!r} is not an http(s) URL") from None
            try:
                outbound.validate_url(webhook_url)
            except outbound.OutboundRefused as exc:
                raise InvalidPayload(f"webhook URL {webhook_url!r} is refused: {exc}") from None
        row.webhook_url = webhook_url
        if not webhook_url:
            row.webhook_secret = ""
        elif webhook_secret is None and not row.encrypted_webhook_secret:
            row.webhook_secret = ChatApiSettings.generate_secret()
    if webhook_secret is not None:
        row.webhook_secret = webhook_secret
    row.save()
    forget_cached_settings()
    return row


# ---- users ---------------------------------------------------------------------------------

def _profile(end_user: EndUser) -> ChatUser | None:
    try:
        return end_user.chat_profile
    except ChatUser.DoesNotExist:
        return None


def user_json(end_user: EndUser) -> dict:
    return wire.user(end_user, _profile(end_user))


def _user_fields(fields: dict) -> dict:
    out = {}
    for name in ("name", "pictureUrl", "profile"):
        if name in fields and fields[name] is not None:
            if not isinstance(fields[name], str):
                raise InvalidPayload(f"{name} must be a string")
            out[name] = fields[name]
    if len(out.get("name", "")) > 255:
        raise InvalidPayload("name must be at most 255 characters")
    if len(out.get("pictureUrl", "")) > 2000:
        raise InvalidPayload("pictureUrl must be at most 2000 characters")
    return out


def _write_profile(end_user: EndUser, fields: dict) -> None:
    if "name" in fields and fields["name"] != end_user.name:
        end_user.name = fields["name"]
        end_user.save(update_fields=["name", "updated_at"])
    profile = _profile(end_user) or ChatUser(end_user=end_user)
    profile.picture_url = fields.get("pictureUrl", profile.picture_url)
    profile.profile = fields.get("profile", profile.profile)
    profile.save()
    end_user.chat_profile = profile


def create_user(api: Api, fields: dict) -> tuple[EndUser, str]:
    """A new user (caller-chosen `id` or a generated one) and its user key."""
    user_id = fields.get("id")
    if user_id is not None:
        wire.check_id(user_id, "user id")
    values = _user_fields(fields)
    try:
        with transaction.atomic():
            end_user = EndUser.objects.create(bot_id=api.bot_id, external_id=user_id or _new_id())
            _write_profile(end_user, values)
    except IntegrityError:
        raise AlreadyExists(f"a user with id {user_id!r} already exists") from None
    return end_user, auth.user_key(api.encryption_key, end_user.external_id)


def _new_id() -> str:
    return str(uuid.uuid4())


def user_id_for_key(api: Api, key: str | None) -> str:
    return auth.user_id_from_key(api.encryption_key, key)


def authenticate(api: Api, key: str | None) -> EndUser:
    """The user a key names; Unauthorized for a bad key, NotFound for a user who does not
    exist (yet: `getOrCreateUser` makes one)."""
    user_id = user_id_for_key(api, key)
    end_user = (EndUser.objects.select_related("chat_profile")
                .filter(bot_id=api.bot_id, external_id=user_id).first())
    if end_user is None:
        raise NotFound(f"user {user_id!r} does not exist; call getOrCreateUser first")
    return end_user


def get_or_create_user(api: Api, key: str | None, fields: dict) -> EndUser:
    user_id = wire.check_id(user_id_for_key(api, key), "user id")
    values = _user_fields(fields)
    end_user = EndUser.objects.select_related("chat_profile").filter(bot_id=api.bot_id, external_id=user_id).first()
    if end_user is None:
        try:
            with transaction.atomic():
                end_user = EndUser.objects.create(bot_id=api.bot_id, external_id=user_id)
                _write_profile(end_user, values)
            return end_user
        except IntegrityError:  # created meanwhile
            end_user = EndUser.objects.select_related("chat_profile").get(bot_id=api.bot_id, external_id=user_id)
    if values:
        _write_profile(end_user, values)
    return end_user


def update_user(end_user: EndUser, fields: dict) -> EndUser:
    values = _user_fields(fields)
    with transaction.atomic():
        _write_profile(end_user, values)
    return end_user


def delete_user(end_user: EndUser) -> None:
    """The user, their profile and the conversations they created (with their messages)."""
    end_user.delete()


# ---- conversations -------------------------------------------------------------------------

def _is_participant(user: EndUser):
    return Exists(Participant.objects.filter(conversation=OuterRef("pk"), user=user))


def _conversation_for(api: Api, user: EndUser, conversation_id) -> Conversation:
    """A conversation the user takes part in (ResourceNotFound / Forbidden otherwise)."""
    if not isinstance(conversation_id, str) or not conversation_id:
        raise InvalidPayload("conversationId is required")
    conversation = (Conversation.objects.filter(bot_id=api.bot_id, external_id=conversation_id, channel=CHANNEL)
                    .annotate(is_participant=_is_participant(user)).first())
    if conversation is None:
        raise NotFound(f"conversation {conversation_id!r} does not exist")
    if not conversation.is_participant:
        raise Forbidden(f"user {user.external_id!r} is not a participant of conversation {conversation_id!r}")
    return conversation


def participation(api: Api, key: str | None, conversation_id) -> tuple[EndUser, Conversation]:
    """The key's user and a conversation they take part in, in one query on the hot path
    (sending a message); the precise error (401, 404 user, 404 conversation, 403) costs
    the usual queries only when that query finds nothing."""
    user_id = user_id_for_key(api, key)
    if isinstance(conversation_id, str) and conversation_id:
        found = (Participant.objects.select_related("user", "conversation")
                 .filter(user__bot_id=api.bot_id, user__external_id=user_id, conversation__bot_id=api.bot_id,
                         conversation__external_id=conversation_id, conversation__channel=CHANNEL).first())
        if found is not None:
            return found.user, found.conversation
    user = authenticate(api, key)
    return user, _conversation_for(api, user, conversation_id)


def create_conversation(api: Api, user: EndUser, conversation_id: str | None = None) -> Conversation:
    if conversation_id is not None:
        wire.check_id(conversation_id, "conversation id")
    try:
        with transaction.atomic():
            conversation = turns.start_conversation(Bot(pk=api.bot_id), user, external_id=conversation_id or _new_id(),
                                                    channel=CHANNEL)
            Participant.objects.create(conversation=conversation, user=user)
    except IntegrityError:
        raise AlreadyExists(f"a conversation with id {conversation_id!r} already exists") from None
    return conversation


def get_or_create_conversation(api: Api, user: EndUser, conversation_id) -> Conversation:
    wire.check_id(conversation_id, "conversation id")
    existing = Conversation.objects.filter(bot_id=api.bot_id, external_id=conversation_id).first()
    if existing is None:
        try:
            return create_conversation(api, user, conversation_id)
        except AlreadyExists:
            pass  # created meanwhile: fall through to the checks below
    return _conversation_for_existing_id(api, user, conversation_id)


def _conversation_for_existing_id(api: Api, user: EndUser, conversation_id: str) -> Conversation:
    conversation = Conversation.objects.filter(bot_id=api.bot_id, external_id=conversation_id).first()
    if conversation is not None and conversation.channel != CHANNEL:
        raise AlreadyExists(f"conversation id {conversation_id!r} is used by another channel")
    return _conversation_for(api, user, conversation_id)


def get_conversation(api: Api, user: EndUser, conversation_id) -> Conversation:
    return _conversation_for(api, user, conversation_id)


def cancel_answer(api: Api, user: EndUser, conversation_id) -> None:
    """A participant's stop (docs/ai.md, "Streaming and cancel"): the answer in progress is
    cancelled, its pieces dropped, and the user's message kept with `cancelled: true` in its
    metadata; listeners get `message_cancelled`. Nothing changes when no answer runs."""
    turns.cancel(_conversation_for(api, user, conversation_id))


def resume_workflow(api: Api, user: EndUser, conversation_id, workflow_id, step_id, values):
    """A participant answers a paused workflow step (`WorkflowInterventionRequired`) with the
    form's values; refused (InvalidPayload naming the fields) when they do not fit the
    request's schema, and the run stays paused."""

    conversation = _conversation_for(api, user, conversation_id)
    if not isinstance(workflow_id, str) or not workflow_id:
        raise InvalidPayload("workflowId is required")
    if step_id is not None and not isinstance(step_id, str):
        raise InvalidPayload("stepId must be a string")
    if not isinstance(values, dict):
        raise InvalidPayload("values must be an object: the form's field key -> value")
    try:
        return workflows.resume(conversation, workflow_id, step_id or None, values)
    except workflows.WorkflowError as exc:
        if exc.status == 404:
            raise NotFound(exc.message) from None
        if exc.status == 409:
            raise AlreadyExists(exc.message) from None
        raise InvalidPayload(exc.message) from None


def list_conversations(api: Api, user: EndUser, next_token: str | None) -> tuple[list[Conversation], str | None]:
    """Newest first."""
    query = Conversation.objects.filter(channel=CHANNEL, participants__user=user).order_by("-pk")
    after = _decode_token(next_token)
    if after is not None:
        query = query.filter(pk__lt=after)
    page = list(query[:wire.PAGE_SIZE + 1])
    return _paged(page, lambda c: c.pk)


def delete_conversation(api: Api, user: EndUser, conversation_id) -> None:
    conversation = _conversation_for(api, user, conversation_id)
    if conversation.user_id != user.pk:
        raise Forbidden("only the user who created a conversation may delete it")
    turns.delete_conversation(conversation)


def _paged(page: list, cursor) -> tuple[list, str | None]:
    if len(page) > wire.PAGE_SIZE:
        page = page[:wire.PAGE_SIZE]
        return page, _encode_token(cursor(page[-1]))
    return page, None


def _encode_token(value: int) -> str:
    return base64.urlsafe_b64encode(f"c{value}".encode()).decode().rstrip("=")


def _decode_token(token: str | None) -> int | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not raw.startswith("c"):
            raise ValueError
        return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidPayload("nextToken is not a token this API gave out") from None


# ---- participants --------------------------------------------------------------------------

def list_participants(api: Api, user: EndUser, conversation_id, next_token) -> tuple[list[EndUser], str | None]:
    conversation = _conversation_for(api, user, conversation_id)
    query = Participant.objects.filter(conversation=conversation).select_related("user__chat_profile").order_by("pk")
    after = _decode_token(next_token)
    if after is not None:
        query = query.filter(pk__gt=after)
    page, token = _paged(list(query[:wire.PAGE_SIZE + 1]), lambda p: p.pk)
    return [p.user for p in page], token


def _participant_user(api: Api, participant_id) -> EndUser:
    if not isinstance(participant_id, str) or not participant_id:
        raise InvalidPayload("userId is required")
    end_user = (EndUser.objects.select_related("chat_profile")
                .filter(bot_id=api.bot_id, external_id=participant_id).first())
    if end_user is None:
        raise NotFound(f"user {participant_id!r} does not exist")
    return end_user


def get_participant(api: Api, user: EndUser, conversation_id, participant_id) -> EndUser:
    conversation = _conversation_for(api, user, conversation_id)
    participant = _participant_user(api, participant_id)
    if not Participant.objects.filter(conversation=conversation, user=participant).exists():
        raise NotFound(f"user {participant_id!r} is not a participant of conversation {conversation_id!r}")
    return participant


def add_participant(api: Api, user: EndUser, conversation_id, participant_id) -> EndUser:
    from . import live

    conversation = _conversation_for(api, user, conversation_id)
    participant = _participant_user(api, participant_id)
    with transaction.atomic():
        _, created = Participant.objects.get_or_create(conversation=conversation, user=participant)
        if created:
            live.on_participant_commit(api, conversation, "participant_added", participant.external_id)
    return participant


def remove_participant(api: Api, user: EndUser, conversation_id, participant_id) -> None:
    from . import live

    conversation = _conversation_for(api, user, conversation_id)
    participant = _participant_user(api, participant_id)
    if participant.pk == conversation.user_id:
        raise InvalidPayload("the user who created the conversation cannot be removed from it")
    with transaction.atomic():
        deleted, _ = Participant.objects.filter(conversation=conversation, user=participant).delete()
        if not deleted:
            raise NotFound(f"user {participant_id!r} is not a participant of conversation {conversation_id!r}")
        live.on_participant_commit(api, conversation, "participant_removed", participant.external_id)


# ---- messages and events -------------------------------------------------------------------

def sender_id(bot_id, message: Message, conversation: Conversation) -> str:
    if message.direction == Message.Direction.OUTGOING:
        return wire.bot_user_id(bot_id)
    if message.user_id is None:  # rows written before senders were recorded
        return conversation.user.external_id
    return message.user.external_id


def create_message(api: Api, key: str | None, conversation_id, payload, metadata) -> tuple[Conversation, Message]:
    """Store (acknowledge) a user message; the caller then has its turn processed."""
    user, conversation = participation(api, key, conversation_id)
    kind, fields = wire.check_message_payload(payload)
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidPayload("metadata must be an object")
    event = turns.receive_event(conversation, kind, fields, user=user, metadata=metadata)
    return conversation, event.incoming_message


def create_event(api: Api, key: str | None, conversation_id, payload) -> tuple[Conversation, Message]:
    """Store a custom event (a free object); the bot sees it through its trigger nodes."""
    user, conversation = participation(api, key, conversation_id)
    if not isinstance(payload, dict):
        raise InvalidPayload("payload must be an object")
    event = turns.receive_event(conversation, EVENT_MESSAGE_TYPE, payload, user=user)
    return conversation, event.incoming_message


def _message_for(api: Api, user: EndUser, message_id, *, event: bool) -> Message:
    what = "event" if event else "message"
    try:
        pk = int(message_id)
    except (TypeError, ValueError):
        raise NotFound(f"{what} {message_id!r} does not exist") from None
    query = (Message.objects.select_related("conversation__user", "user")
             .filter(pk=pk, conversation__bot_id=api.bot_id, conversation__channel=CHANNEL))
    query = query.filter(type=EVENT_MESSAGE_TYPE) if event else query.exclude(type=EVENT_MESSAGE_TYPE)
    message = query.annotate(is_participant=Exists(
        Participant.objects.filter(conversation=OuterRef("conversation"), user=user))).first()
    if message is None:
        raise NotFound(f"{what} {message_id!r} does not exist")
    if not message.is_participant:
        raise Forbidden(f"user {user.external_id!r} is not a participant of the {what}'s conversation")
    return message


def get_message(api: Api, user: EndUser, message_id) -> Message:
    return _message_for(api, user, message_id, event=False)


def get_event(api: Api, user: EndUser, event_id) -> Message:
    return _message_for(api, user, event_id, event=True)


def delete_message(api: Api, user: EndUser, message_id) -> None:
    """A participant deletes a message they sent, or one of the bot's."""
    message = _message_for(api, user, message_id, event=False)
    if message.direction == Message.Direction.INCOMING and message.user_id not in (None, user.pk):
        raise Forbidden("a message sent by another participant cannot be deleted")
    turns.delete_messages(message.conversation, [message])


def list_messages(api: Api, user: EndUser, conversation_id, next_token) -> tuple[Conversation, list[Message], str | None]:
    """Oldest first (the transcript's order); `nextToken` pages forward."""
    conversation = _conversation_for(api, user, conversation_id)
    query = (Message.objects.filter(conversation=conversation).exclude(type=EVENT_MESSAGE_TYPE)
             .select_related("user").order_by("seq"))
    after = _decode_token(next_token)
    if after is not None:
        query = query.filter(seq__gt=after)
    page, token = _paged(list(query[:wire.PAGE_SIZE + 1]), lambda m: m.seq)
    return conversation, page, token


def message_json(bot_id, message: Message, conversation: Conversation) -> dict:
    return wire.message(message, conversation.external_id, sender_id(bot_id, message, conversation))


def event_json(bot_id, message: Message, conversation: Conversation) -> dict:
    return wire.event(message, conversation.external_id, sender_id(bot_id, message, conversation))


# ---- the studio's side: the dashboard and the REST API -----------------------------------------

def settings_summary(bot: Bot) -> dict:
    """What the studio shows of the settings: never the key nor the webhook secret."""
    row = chat_api_settings(bot)
    return {"enabled": row.enabled, "baseUrl": base_url(row), "webhookId": row.webhook_id,
            "webhookUrl": row.webhook_url, "hasWebhookSecret": bool(row.encrypted_webhook_secret),
            "updatedAt": row.updated_at}
