"""What people (through the REST API) may change on stored conversations, end users and
messages: their tags, and deleting them. Talking to a bot goes through `runtime.turns`.

Tags are string-to-string maps (seed 001: `tags: Record<string, string>`). An update merges:
keys given with a string are set, keys given with null are removed, others stay, so the
seed's `{...conversation.tags, topic: 'support'}` and a partial `{topic: 'support'}` both work.
"""
from __future__ import annotations

import re

from django.db import transaction

from runtime.models import Conversation, EndUser, Message, State

MAX_TAGS = 50  # the platform's limit of tag definitions per bot (platform inventory 5.10)
MAX_TAG_VALUE = 500
TAG_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


class TagsInvalid(ValueError):
    """`key` is the offending tag, or None when the tags object as a whole is wrong."""

    def __init__(self, key: str | None, message: str):
        self.key = key
        super().__init__(message)


def merged_tags(current: dict, changes) -> dict:
    if not isinstance(changes, dict):
        raise TagsInvalid(None, "tags are an object of string values (null removes a tag)")
    tags = dict(current or {})
    for key, value in changes.items():
        if not TAG_KEY.match(key):
            raise TagsInvalid(key, "a tag name is 1 to 100 letters, digits or _ . : -")
        if value is None:
            tags.pop(key, None)
        elif not isinstance(value, str):
            raise TagsInvalid(key, "a tag value is a string (null removes the tag)")
        elif len(value) > MAX_TAG_VALUE:
            raise TagsInvalid(key, f"a tag value has at most {MAX_TAG_VALUE} characters")
        else:
            tags[key] = value
    if len(tags) > MAX_TAGS:
        raise TagsInvalid(None, f"at most {MAX_TAGS} tags per object")
    return tags


def _update_tags(model, pk, changes):
    with transaction.atomic():
        # Locked so two concurrent merges cannot drop each other's keys.
        row = model.objects.select_for_update(no_key=True, of=("self",)).get(pk=pk)
        row.tags = merged_tags(row.tags, changes)
        row.save(update_fields=["tags", *(["updated_at"] if hasattr(row, "updated_at") else [])])
        return row


def update_conversation(conversation: Conversation, *, tags) -> Conversation:
    return _update_tags(Conversation, conversation.pk, tags)


def update_user(user: EndUser, *, tags=None, name: str | None = None) -> EndUser:
    with transaction.atomic():
        row = EndUser.objects.select_for_update(no_key=True).get(pk=user.pk)
        fields = ["updated_at"]
        if tags is not None:
            row.tags = merged_tags(row.tags, tags)
            fields.append("tags")
        if name is not None:
            row.name = name
            fields.append("name")
        row.save(update_fields=fields)
        return row


def update_message(message: Message, *, tags) -> Message:
    return _update_tags(Message, message.pk, tags)


def delete_conversation(conversation: Conversation) -> None:
    """The conversation with its events, messages and conversation states."""
    with transaction.atomic():
        State.objects.filter(bot_id=conversation.bot_id, type=State.Type.CONVERSATION,
                             scope_id=conversation.external_id).delete()
        conversation.delete()


def delete_user(user: EndUser) -> None:
    """The user with all their conversations (and those conversations' states) and user states."""
    with transaction.atomic():
        conversation_ids = list(user.conversations.values_list("external_id", flat=True))
        State.objects.filter(bot_id=user.bot_id, type=State.Type.CONVERSATION,
                             scope_id__in=conversation_ids).delete()
        State.objects.filter(bot_id=user.bot_id, type=State.Type.USER, scope_id=user.external_id).delete()
        user.delete()


def delete_message(message: Message) -> None:
    """One message from the transcript (the event it belonged to stays in the event log)."""
    message.delete()
