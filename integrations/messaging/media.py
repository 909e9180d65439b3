"""Files users send on a channel that keeps them behind its token (WhatsApp: the message has
a media id, docs/channels.md, "WhatsApp"): downloaded after the message is stored, off the
acknowledgement path, and served at an unguessable URL that the transcript row then carries.

`runtime.delivery` tells `on_messages` which messages a conversation gained (after the
commit); for a user's medium it only queues `tasks.fetch_media`. The task asks the channel
kind to download it (`kind.download`: the Graph API's URL for the media id, then the file,
both through the outbound guard, at most FLOWSTUDIO_CHANNEL_MEDIA_MAX_BYTES), stores it once
per (channel, media id) as a `ChannelMedia` row, and sets the message's `<type>Url` to
`PUBLIC_URL/channel-media/<uuid>/`. The turn has already run by then: the bot sees the media
id (`whatsappMediaId`); the transcript, the Inbox and later turns see the file's URL. A file
over the limit, or one the channel refuses, stays a media id (logged).
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from runtime.models import Message

from . import kinds, services
from .kinds import Refused, SendRejected
from .models import Channel, ChannelConversation, ChannelMedia

logger = logging.getLogger(__name__)

# The payload field that holds a channel's media id, per channel kind.
MEDIA_ID_FIELDS = {"whatsapp": "whatsappMediaId"}
MEDIA_TYPES = ("image", "audio", "video", "file")


def _media_id(message: Message, kind: str) -> str:
    if message.direction != Message.Direction.INCOMING or message.type not in MEDIA_TYPES:
        return ""
    value = (message.payload or {}).get(MEDIA_ID_FIELDS[kind])
    return str(value) if isinstance(value, (str, int)) and str(value).isalnum() else ""


def on_messages(conversation, messages: list) -> None:
    """`runtime.delivery` subscriber: queue the download of each user medium (no database
    read: it may run right after an inbound update's commit)."""
    if conversation.channel not in MEDIA_ID_FIELDS:
        return
    wanted = [m.pk for m in messages if _media_id(m, conversation.channel)]
    if wanted:
        from . import tasks

        for pk in wanted:
            tasks.schedule_fetch_media(pk)


def fetch(message_pk) -> ChannelMedia | None:
    """Download the medium of one stored user message and point the message at it.
    SendFailed when the channel cannot answer now (the task retries)."""
    message = Message.objects.select_related("conversation").filter(pk=message_pk).first()
    link = ChannelConversation.objects.filter(conversation_id=message.conversation_id).first() if message else None
    if link is None:
        return None
    channel = Channel.objects.get(pk=link.channel_id)
    media_id = _media_id(message, channel.kind) if channel.kind in MEDIA_ID_FIELDS else ""
    if not media_id:
        return None
    stored = ChannelMedia.objects.filter(channel=channel, media_id=media_id).first()
    if stored is None:
        limit = settings.FLOWSTUDIO_CHANNEL_MEDIA_MAX_BYTES
        try:
            content_type, content = kinds.get(channel.kind).download(services.config_of(channel), media_id, limit)
        except (Refused, SendRejected) as exc:
            logger.warning("%s media %s of conversation %s not downloaded: %s", channel.kind, media_id,
                           message.conversation_id, getattr(exc, "reason", exc))
            return None
        try:
            with transaction.atomic():
                stored = ChannelMedia.objects.create(channel=channel, message=message, media_id=media_id,
                                                     content_type=content_type, size=len(content), content=content)
        except IntegrityError:  # a redelivered task stored it meanwhile
            stored = ChannelMedia.objects.get(channel=channel, media_id=media_id)
    field = f"{message.type}Url"  # imageUrl, audioUrl, videoUrl, fileUrl
    payload = {**(message.payload or {}), field: file_url(stored)}
    Message.objects.filter(pk=message.pk).update(payload=payload)
    return stored


def file_url(media: ChannelMedia) -> str:
    return settings.PUBLIC_URL.rstrip("/") + reverse("messaging:media", args=[media.pk])


def get(media_pk) -> ChannelMedia | None:
    return ChannelMedia.objects.filter(pk=media_pk).first()
