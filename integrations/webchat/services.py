"""The webchat's operations. The websocket consumer, the HTTP fallback and the settings page
are thin shells around these functions; the protocol they speak is in
docs/websocket-protocol.md and docs/webchat.md.

Everything a widget does goes through the runtime's turn service: a message or an event is
stored (`runtime.turns.receive_event`) before it is acknowledged, then processed in order.
"""
from __future__ import annotations

import json
import mimetypes
import secrets
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections, transaction
from django.utils import timezone

from flows import greeting
from flows.models import Bot, BotVersion
from runtime import conversation_stream, turns, workflows
from runtime.client_messages import ClientMessageInvalid, clean_client_message
from runtime.models import Conversation, EndUser, Event

from . import configuration, identity, origins
from .models import WebchatConversation, WebchatSettings, WebchatUpload, WebchatUser

CHANNEL = "webchat"
MAX_JSON_BYTES = 16 * 1024
# One client frame (or HTTP fallback body): a 4096-character message or a 16 KB event, with room.
MAX_FRAME_BYTES = 64 * 1024
# Event types of the runtime (see runtime/engine/events.py).
CONVERSATION_STARTED = "conversation_started"
CUSTOM_EVENT = "event"


# Refusals after which the websocket is closed (the widget stops trying); any other error is
# answered and the connection stays.
FATAL_CLOSE_CODES = frozenset({4401, 4403, 4404})


class WebchatError(Exception):
    """A refusal the widget shows and the page receives as an `error` event. `code` is
    stable (docs/websocket-protocol.md), `close_code` is the websocket close code."""

    close_code = 4400
    errors: list | None = None  # per-field problems ({field, message}), sent when set

    def __init__(self, code: str, message: str, close_code: int | None = None):
        self.code = code
        self.message = message
        if close_code is not None:
            self.close_code = close_code
        super().__init__(message)

    @property
    def fatal(self) -> bool:
        return self.close_code in FATAL_CLOSE_CODES

    def as_frame(self, seq: int = 0) -> dict:
        frame = conversation_stream.control_frame("error", seq, code=self.code, message=self.message)
        if self.fatal:
            frame["fatal"] = True
        if self.errors is not None:
            frame["errors"] = self.errors
        return frame


def refused_origin(origin: str | None) -> WebchatError:
    shown = origin or "(no Origin header)"
    return WebchatError("origin_not_allowed", f"the origin {shown} is not allowed to embed this bot's webchat",
                        close_code=4403)


# --- settings -------------------------------------------------------------------------------

def get_settings(bot: Bot) -> WebchatSettings:
    found, _ = WebchatSettings.objects.select_related("bot").get_or_create(bot=bot)
    return found


def update_settings(bot: Bot, changes: dict) -> WebchatSettings:
    """Apply the owner's changes; SettingsInvalid (naming every bad field) saves nothing."""
    with transaction.atomic():
        current = WebchatSettings.objects.select_for_update().filter(bot=bot).first() or WebchatSettings(bot=bot)
        configuration.apply_changes(current, changes)
        current.save()
    return current


def generate_identity_secret(bot: Bot) -> str:
    with transaction.atomic():
        current = WebchatSettings.objects.select_for_update().filter(bot=bot).first() or WebchatSettings(bot=bot)
        secret = secrets.token_urlsafe(32)
        current.identity_secret = secret
        current.save()
    return secret


def find_bot(bot_id) -> Bot:
    try:
        bot = Bot.objects.filter(pk=bot_id).first()
    except (ValueError, TypeError, ValidationError):
        bot = None
    if bot is None:
        raise WebchatError("bot_not_found", f"no bot with id {bot_id}", close_code=4404)
    return bot


def public_configuration(bot: Bot) -> dict:
    return configuration.widget_configuration(get_settings(bot))


def greets_on_open(bot: Bot) -> bool | None:
    """Whether the version the widget serves (the latest published) says something when the
    chat opens (flows.greeting); None when the bot has no published version."""
    latest = bot.versions.order_by("-number").values_list("pk", flat=True).first()
    return None if latest is None else _version_greets(bot.pk, latest)


@lru_cache(maxsize=512)
def _version_greets(bot_pk, version_pk) -> bool:
    # A published version never changes (flows.models.BotVersion), so its answer is kept.
    definition = BotVersion.objects.filter(pk=version_pk, bot_id=bot_pk).values_list("definition", flat=True).first()
    return greeting.greets_on_open(definition)


def embed_snippet(bot: Bot, base_url: str) -> str:
    base = base_url.rstrip("/")
    return (f'<script src="{base}/webchat/inject.js"></script>\n'
            f'<script src="{base}/webchat/{bot.pk}/config.js" defer></script>')


def share_url(bot: Bot, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/s/{bot.pk}"


# --- origins --------------------------------------------------------------------------------

def check_origin(bot_id, origin: str | None, host: str | None) -> WebchatSettings:
    """The bot's settings if `origin` may use its widget; WebchatError otherwise. Read fresh
    every time: an origin removed in the settings is refused on its next message."""
    found = WebchatSettings.objects.filter(bot_id=bot_id).select_related("bot").first()
    if found is None:
        found = get_settings(find_bot(bot_id))
    if not origins.is_allowed(found.allowed_origins, origin, own_host=host):
        raise refused_origin(origin)
    return found


# --- sessions -------------------------------------------------------------------------------

@dataclass
class Session:
    """One widget talking to one conversation as one user."""

    bot: Bot
    settings: WebchatSettings
    user: EndUser
    conversation: Conversation
    user_key: str
    origin: str
    is_new_conversation: bool = False
    greets: bool = False           # the served version says something when the chat opens

    @property
    def conversation_id(self) -> str:
        return self.conversation.external_id


def open_session(bot_id, *, origin: str | None, host: str | None, hello: dict) -> Session:
    """Who the widget is and which conversation it continues (the `hello` frame, or the HTTP
    fallback's session call). A signed identity wins over a stored user key; a conversation
    id is honoured only if it is this user's webchat conversation with this bot."""
    if not isinstance(hello, dict):
        raise WebchatError("bad_request", "the hello frame must be an object")
    found = check_origin(bot_id, origin, host)
    bot = found.bot
    greets = greets_on_open(bot)
    if greets is None:
        raise WebchatError("not_published", f"bot {bot.name!r} has no published version yet; publish it first",
                           close_code=4404)
    verified = None
    if hello.get("identity") is not None:
        try:
            verified = identity.verify(found.identity_secret, hello["identity"])
        except identity.IdentityInvalid as exc:
            raise WebchatError("identity_invalid", str(exc), close_code=4401) from None

    with transaction.atomic():
        if verified is not None:
            user = turns.get_or_create_user(bot, verified.external_id)
        else:
            external_id = identity.external_id_from_key(bot.pk, hello.get("userKey"))
            if found.identity_required:
                if external_id is None or not external_id.startswith(identity.VERIFIED_PREFIX):
                    raise WebchatError("identity_required",
                                       "this bot only talks to users whose identity the site signed", close_code=4401)
            user = EndUser.objects.filter(bot=bot, external_id=external_id).first() if external_id else None
            if user is None:
                user = turns.get_or_create_user(bot)
        profile, _ = WebchatUser.objects.get_or_create(end_user=user)
        if verified is not None:
            _apply_profile(user, profile, {"name": verified.name, "pictureUrl": verified.picture_url,
                                           "data": verified.data or None}, verified=True)
        if hello.get("user") is not None:
            _apply_profile(user, profile, _user_fields(hello["user"]))

        conversation, is_new = _conversation_for(bot, user, hello.get("conversationId"),
                                                 prefer_latest=verified is not None, origin=origin)
    return Session(bot=bot, settings=found, user=user, conversation=conversation,
                   user_key=identity.user_key(bot.pk, user.external_id), origin=origin or "",
                   is_new_conversation=is_new, greets=greets)


def resume_session(bot_id, *, origin: str | None, host: str | None, user_key, conversation_id) -> Session:
    """The session a request of the HTTP fallback belongs to (it names both explicitly)."""
    found = check_origin(bot_id, origin, host)
    external_id = identity.external_id_from_key(found.bot_id, user_key)
    user = EndUser.objects.filter(bot_id=found.bot_id, external_id=external_id).first() if external_id else None
    if user is None:
        raise WebchatError("unknown_user", "the user key is not valid for this bot; start a new session",
                           close_code=4401)
    conversation = Conversation.objects.filter(bot_id=found.bot_id, user=user, external_id=conversation_id,
                                               channel=CHANNEL).first()
    if conversation is None:
        raise WebchatError("unknown_conversation", f"no conversation {conversation_id!r} for this user")
    return Session(bot=found.bot, settings=found, user=user, conversation=conversation,
                   user_key=user_key, origin=origin or "")


def _conversation_for(bot, user, conversation_id, *, prefer_latest: bool, origin) -> tuple[Conversation, bool]:
    mine = Conversation.objects.filter(bot=bot, user=user, channel=CHANNEL)
    if isinstance(conversation_id, str) and conversation_id:
        conversation = mine.filter(external_id=conversation_id).first()
        if conversation is not None:
            return conversation, False
    if prefer_latest:
        # A recognised user on a new browser continues where they left off.
        conversation = mine.order_by("-created_at").first()
        if conversation is not None:
            return conversation, False
    return new_conversation(bot, user, origin=origin), True


def new_conversation(bot, user, *, origin=None) -> Conversation:
    conversation = turns.start_conversation(bot, user, channel=CHANNEL)
    WebchatConversation.objects.create(conversation=conversation, origin=(origin or "")[:300])
    return conversation


def restart(session: Session) -> Session:
    """`restartConversation()`: same user, a new empty conversation."""
    with transaction.atomic():
        conversation = new_conversation(session.bot, session.user, origin=session.origin)
    session.conversation = conversation
    session.is_new_conversation = True
    return session


# --- users ----------------------------------------------------------------------------------

def _user_fields(raw) -> dict:
    if not isinstance(raw, dict):
        raise WebchatError("bad_request", "user must be an object with name, pictureUrl and data")
    unknown = set(raw) - {"name", "pictureUrl", "data"}
    if unknown:
        raise WebchatError("bad_request", f"user has unknown fields: {', '.join(sorted(unknown))} "
                                          "(allowed: name, pictureUrl, data)")
    name, picture, data = raw.get("name"), raw.get("pictureUrl"), raw.get("data")
    if name is not None and (not isinstance(name, str) or len(name) > 255):
        raise WebchatError("bad_request", "user.name must be text of at most 255 characters")
    if picture is not None and (not isinstance(picture, str) or len(picture) > 1000
                                or (picture and not picture.startswith(("https://", "http://")))):
        raise WebchatError("bad_request", "user.pictureUrl must be an http(s) address of at most 1000 characters")
    if data is not None:
        if not isinstance(data, dict):
            raise WebchatError("bad_request", "user.data must be an object")
        if len(json.dumps(data)) > MAX_JSON_BYTES:
            raise WebchatError("bad_request", f"user.data is larger than {MAX_JSON_BYTES} bytes of JSON")
    return {"name": name, "pictureUrl": picture, "data": data}


def _apply_profile(user: EndUser, profile: WebchatUser, fields: dict, *, verified: bool = False) -> None:
    changed = []
    if fields.get("name") is not None and profile.name != fields["name"]:
        profile.name = fields["name"]
        changed.append("name")
    if fields.get("pictureUrl") is not None and profile.picture_url != fields["pictureUrl"]:
        profile.picture_url = fields["pictureUrl"]
        changed.append("picture_url")
    if fields.get("data") is not None:
        profile.data = {**(profile.data or {}), **fields["data"]}
        changed.append("data")
    if verified and not profile.verified:
        profile.verified = True
        changed.append("verified")
    if changed:
        profile.save(update_fields=[*changed, "updated_at"])


def update_user(session: Session, raw) -> dict:
    fields = _user_fields(raw)
    with transaction.atomic():
        profile, _ = WebchatUser.objects.select_for_update().get_or_create(end_user=session.user)
        _apply_profile(session.user, profile, fields)
    return user_view(session)


def user_view(session: Session) -> dict:
    profile = WebchatUser.objects.filter(end_user=session.user).first()
    return {
        "id": session.user.external_id,
        "name": (profile.name if profile else "") or None,
        "pictureUrl": (profile.picture_url if profile else "") or None,
        "data": (profile.data if profile else {}) or {},
        "verified": bool(profile and profile.verified),
        "createdAt": session.user.created_at.isoformat(),
    }


# --- what the widget sends ------------------------------------------------------------------

def post_message(session: Session, payload) -> int:
    """Store a message from the widget; returns its seq. Processing is separate (`process`)."""
    try:
        kind, clean = clean_client_message(payload, client="the webchat", hint="; files go through the upload")
    except ClientMessageInvalid as exc:
        raise WebchatError("bad_request", str(exc)) from None
    return turns.receive_event(session.conversation, kind, clean, metadata=_metadata(session)).seq


def _metadata(session: Session) -> dict:
    """Sent with every webchat event: the bot's Get User Data card reads it
    (`event.metadata.webchat.user`)."""
    view = user_view(session)
    return {"webchat": {"user": {key: view[key] for key in ("id", "name", "pictureUrl", "data", "verified")}}}


def post_event(session: Session, payload) -> int:
    """A custom event from the page (`sendEvent`); `payload.type` names it for triggers."""
    if not isinstance(payload, dict):
        raise WebchatError("bad_request", "an event must be an object, e.g. {\"type\": \"pricing-viewed\"}")
    if len(json.dumps(payload, default=str)) > MAX_JSON_BYTES:
        raise WebchatError("bad_request", f"an event is at most {MAX_JSON_BYTES} bytes of JSON")
    return turns.receive_event(session.conversation, CUSTOM_EVENT, payload, metadata=_metadata(session)).seq


def mark_started(session: Session) -> int | None:
    """The widget was opened on this conversation: send "conversation started" once, and
    only to a conversation that has not begun otherwise. When the page already sent a
    message or an event (the widget still closed), that began it; a welcome now would
    restart the dialog under the user's feet."""
    with transaction.atomic():
        row = WebchatConversation.objects.select_for_update().filter(conversation=session.conversation).first()
        if row is None:
            row = WebchatConversation.objects.create(conversation=session.conversation)
        if row.started_at is not None:
            return None
        row.started_at = timezone.now()
        row.save(update_fields=["started_at"])
        if Event.objects.filter(conversation=session.conversation).exists():
            return None
        return turns.receive_event(session.conversation, CONVERSATION_STARTED, {}, metadata=_metadata(session)).seq


def process(conversation_pk) -> None:
    """Run the stored events of a conversation, with the typing indicator on meanwhile.
    Called off the event loop (a worker thread of the ASGI server), never inline in a
    consumer, so the socket keeps delivering while the bot works."""
    try:
        conversation_stream.send_typing(conversation_pk, True)
        turns.process_pending(conversation_pk)
    finally:
        conversation_stream.send_typing(conversation_pk, False)
        # Worker threads outlive requests; do not leave their connections open.
        close_old_connections()


# --- files ----------------------------------------------------------------------------------

def store_upload(session: Session, *, name: str, content: bytes, declared_type: str | None,
                 file_url) -> int:
    """Store a file the user sent and post it to the conversation as an image or file
    message. `file_url(upload)` gives its absolute address. Returns the message seq."""
    found = session.settings
    if not found.file_upload_enabled:
        raise WebchatError("upload_disabled", "file upload is not enabled for this bot")
    limit = found.max_upload_mb * 1024 * 1024
    if len(content) > limit:
        raise WebchatError("upload_too_large",
                           f"{name} is {len(content)} bytes; the limit is {found.max_upload_mb} MB")
    if not content:
        raise WebchatError("bad_request", f"{name} is empty")
    name = (name or "file").replace("/", "_").replace("\\", "_")[:255]
    # The type comes from the file name, not from what the browser claims.
    content_type = mimetypes.guess_type(name)[0] or declared_type or "application/octet-stream"
    allowed = configuration.upload_types(found)
    if not any(_type_matches(pattern, content_type) for pattern in allowed):
        raise WebchatError("upload_type_not_allowed",
                           f"{name} is {content_type}; allowed types: {', '.join(allowed)}")
    with transaction.atomic():
        upload = WebchatUpload.objects.create(conversation=session.conversation, name=name,
                                              content_type=content_type, size=len(content), content=content)
        kind = "image" if content_type.startswith("image/") else "file"
        payload = {f"{kind}Url": file_url(upload), "title": name, "size": len(content), "contentType": content_type}
        return turns.receive_event(session.conversation, kind, payload, metadata=_metadata(session)).seq


def _type_matches(pattern: str, content_type: str) -> bool:
    if pattern.endswith("/*"):
        return content_type.startswith(pattern[:-1])
    return pattern == content_type


def get_upload(upload_id) -> WebchatUpload | None:
    try:
        return WebchatUpload.objects.filter(pk=upload_id).first()
    except (ValueError, TypeError, ValidationError):
        return None


# --- reading --------------------------------------------------------------------------------

def transcript_after(session: Session, after: int) -> tuple[list[dict], int]:
    cursor = conversation_stream.Cursor(session.conversation.pk, session.conversation.external_id, seq=after)
    frames = cursor.read()
    return frames, cursor.seq


def ready_frame(session: Session, seq: int) -> dict:
    return conversation_stream.control_frame(
        "ready", seq,
        conversationId=session.conversation_id,
        userKey=session.user_key,
        user=user_view(session),
        newConversation=session.is_new_conversation,
        greeting=session.greets,
        lastSeq=conversation_stream.last_seq(session.conversation.pk),
        # The conversation's running or paused background workflows, each with its pending
        # form (docs/workflows.md, ActiveWorkflow): a reloaded page shows them again.
        activeWorkflows=workflows.active_workflows(session.conversation),
    )


def public_base_url(request=None) -> str:
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return django_settings.PUBLIC_URL


# --- client frames (shared by the websocket and the HTTP fallback) ---------------------------

@dataclass
class FrameResult:
    reply: dict
    process: bool = False          # stored events wait to be processed
    switched: bool = False         # the session moved to another conversation


def handle_frame(session: Session, frame) -> FrameResult:
    """One client frame after the hello (docs/websocket-protocol.md, "Client frames")."""
    if not isinstance(frame, dict):
        raise WebchatError("bad_request", "every frame must be a JSON object with a type")
    kind = frame.get("type")
    client_id = frame.get("clientId")
    if client_id is not None and (not isinstance(client_id, str) or len(client_id) > 100):
        raise WebchatError("bad_request", "clientId must be text of at most 100 characters")
    echo = {"clientId": client_id} if client_id is not None else {}
    if kind == "message":
        seq = post_message(session, frame.get("payload"))
        return FrameResult({"type": "ack", **echo, "messageSeq": seq}, process=True)
    if kind == "event":
        seq = post_event(session, frame.get("payload"))
        return FrameResult({"type": "ack", **echo, "eventSeq": seq}, process=True)
    if kind == "start":
        seq = mark_started(session)
        return FrameResult({"type": "ack", **echo, "started": seq is not None}, process=seq is not None)
    if kind == "user":
        return FrameResult({"type": "user", **echo, "user": update_user(session, frame.get("user"))})
    if kind == "restart":
        restart(session)
        return FrameResult({"type": "conversation", **echo, "conversationId": session.conversation_id},
                           switched=True)
    if kind == "ping":
        return FrameResult({"type": "pong", **echo})
    if kind == "cancel":
        # The stop button: the bot's answer in progress is dropped (a `cancelled` frame follows).
        return FrameResult({"type": "ack", **echo, "cancelled": True, "eventSeq": turns.cancel(session.conversation)})
    if kind in ("resume_workflow", "retry_workflow"):
        # The form of a WorkflowInterventionRequired sent back, or a failed step's retry.
        return FrameResult({"type": "ack", **echo, **workflows.client_frame(session.conversation, frame, WebchatError)})
    raise WebchatError("bad_request", f"unknown frame type {kind!r} "
                                      "(expected message, event, start, user, restart, cancel, resume_workflow, retry_workflow or ping)")
