"""Messages of a bot's conversations: list one conversation's transcript, get, tag, delete."""
from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.response import Response

from studio.api import errors, tags
from studio.api.base import ApiView, operation
from studio.api.bots import validated
from studio.api.conversations import TagsUpdateSerializer, conversation_of
from studio.api.pagination import PARAMETERS, page_schema, paginate
from runtime import conversations as records
from runtime.models import Message


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    conversationId = serializers.CharField(source="conversation.external_id")
    seq = serializers.IntegerField(help_text="position in the conversation's timeline")
    direction = serializers.ChoiceField(choices=Message.Direction.choices)
    userId = serializers.SerializerMethodField(help_text="the end user (incoming) or the bot's id (outgoing)")
    type = serializers.CharField()
    payload = serializers.JSONField()
    tags = serializers.DictField(child=serializers.CharField())
    createdAt = serializers.DateTimeField(source="created_at")

    def get_userId(self, message) -> str:
        if message.direction == Message.Direction.INCOMING:
            return message.conversation.user.external_id
        return str(message.conversation.bot_id)


def message_data(message) -> dict:
    return MessageSerializer(message).data


def _messages(bot):
    return Message.objects.filter(conversation__bot=bot).select_related("conversation__user")


def message_of(bot, message_id: int) -> Message:
    found = _messages(bot).filter(pk=message_id).first()
    if found is None:
        raise errors.not_found(f"bot {bot.name!r} has no message {message_id}")
    return found


class ConversationMessages(ApiView):
    permissions = {"GET": "flows.view_conversations"}

    @operation(operation_id="listMessages", tags=["messages"], parameters=[*PARAMETERS, tags.FILTER_PARAMETER],
                   responses=page_schema("MessagePage", "messages", MessageSerializer),
                   description="The transcript in order (oldest first).")
    def get(self, request, bot_id, conversation_id):
        bot = self.bot(bot_id)
        conversation = conversation_of(bot, conversation_id)
        queryset = tags.filtered(_messages(bot).filter(conversation=conversation), request)
        page = paginate(request, queryset, [("seq", False)])
        return Response(page.data("messages", message_data))


class MessageDetail(ApiView):
    permissions = {"GET": "flows.view_conversations", "PATCH": "flows.change_bot", "DELETE": "flows.change_bot"}

    @operation(operation_id="getMessage", tags=["messages"], responses=MessageSerializer)
    def get(self, request, bot_id, message_id):
        return Response(message_data(message_of(self.bot(bot_id), message_id)))

    @operation(operation_id="updateMessage", tags=["messages"], request=TagsUpdateSerializer,
                   responses=MessageSerializer)
    def patch(self, request, bot_id, message_id):
        bot = self.bot(bot_id)
        message = message_of(bot, message_id)
        data = validated(TagsUpdateSerializer, request.data)
        with tags.tag_errors():
            records.update_message(message, tags=data["tags"])
        return Response(message_data(message_of(bot, message_id)))

    @operation(operation_id="deleteMessage", tags=["messages"], responses={204: None})
    def delete(self, request, bot_id, message_id):
        records.delete_message(message_of(self.bot(bot_id), message_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
