"""Conversations of a bot: list (cursor pagination, filters), get, update tags, delete, and
cancel the answer in progress."""
from __future__ import annotations

from django.db.models import Count
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.response import Response

from studio.api import errors, tags
from studio.api.base import ApiView, operation
from studio.api.bots import validated
from studio.api.pagination import PARAMETERS, page_schema, paginate
from runtime import conversations as records
from runtime import turns
from runtime.models import Conversation


class ConversationSerializer(serializers.Serializer):
    id = serializers.CharField(source="external_id")
    userId = serializers.CharField(source="user.external_id")
    channel = serializers.CharField()
    draft = serializers.BooleanField(source="is_draft", help_text="an emulator conversation (runs the draft)")
    tags = serializers.DictField(child=serializers.CharField())
    messageCount = serializers.IntegerField(source="message_count")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class TagsUpdateSerializer(serializers.Serializer):
    tags = serializers.JSONField(help_text="tags to set; a null value removes that tag; others stay")


def _bool(request, name: str):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if raw not in ("true", "false"):
        raise errors.invalid(f"{name} is true or false", [errors.detail(f"$query.{name}", "true or false")])
    return raw == "true"


def conversations_of(bot):
    return (Conversation.objects.filter(bot=bot).select_related("user")
            .annotate(message_count=Count("messages")))


def conversation_of(bot, conversation_id: str) -> Conversation:
    found = conversations_of(bot).filter(external_id=conversation_id).first()
    if found is None:
        raise errors.not_found(f"bot {bot.name!r} has no conversation {conversation_id!r}")
    return found


def conversation_data(conversation) -> dict:
    return ConversationSerializer(conversation).data


class Conversations(ApiView):
    permissions = {"GET": "flows.view_conversations"}

    @operation(
        operation_id="listConversations", tags=["conversations"],
        parameters=[*PARAMETERS, OpenApiParameter("userId", OpenApiTypes.STR), OpenApiParameter("channel", OpenApiTypes.STR),
                    OpenApiParameter("draft", OpenApiTypes.BOOL, description="emulator (true) or published (false) only"),
                    tags.FILTER_PARAMETER],
        responses=page_schema("ConversationPage", "conversations", ConversationSerializer),
        description="Newest first.",
    )
    def get(self, request, bot_id):
        bot = self.bot(bot_id)
        queryset = conversations_of(bot)
        if request.query_params.get("userId"):
            queryset = queryset.filter(user__external_id=request.query_params["userId"])
        if request.query_params.get("channel"):
            queryset = queryset.filter(channel=request.query_params["channel"])
        draft = _bool(request, "draft")
        if draft is not None:
            queryset = queryset.filter(is_draft=draft)
        queryset = tags.filtered(queryset, request)
        page = paginate(request, queryset, [("created_at", True), ("pk", True)])
        return Response(page.data("conversations", conversation_data))


class ConversationDetail(ApiView):
    permissions = {"GET": "flows.view_conversations", "PATCH": "flows.change_bot", "DELETE": "flows.change_bot"}

    @operation(operation_id="getConversation", tags=["conversations"], responses=ConversationSerializer)
    def get(self, request, bot_id, conversation_id):
        return Response(conversation_data(conversation_of(self.bot(bot_id), conversation_id)))

    @operation(operation_id="updateConversation", tags=["conversations"], request=TagsUpdateSerializer,
                   responses=ConversationSerializer)
    def patch(self, request, bot_id, conversation_id):
        bot = self.bot(bot_id)
        conversation = conversation_of(bot, conversation_id)
        data = validated(TagsUpdateSerializer, request.data)
        with tags.tag_errors():
            records.update_conversation(conversation, tags=data["tags"])
        return Response(conversation_data(conversation_of(bot, conversation_id)))

    @operation(operation_id="deleteConversation", tags=["conversations"], responses={204: None},
                   description="Delete the conversation with its messages, events and conversation states.")
    def delete(self, request, bot_id, conversation_id):
        records.delete_conversation(conversation_of(self.bot(bot_id), conversation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CancelSerializer(serializers.Serializer):
    conversationId = serializers.CharField()
    cancelled = serializers.BooleanField()
    eventSeq = serializers.IntegerField(help_text="the stop covers the conversation's events up to this seq")


class ConversationCancel(ApiView):
    # The right to talk to the bot (the emulator runs a bot with it), not only to read.
    permissions = {"POST": "flows.change_bot"}

    @operation(operation_id="cancelConversation", tags=["conversations"], request=None,
               responses={202: CancelSerializer},
               description="Stop the bot's answer in progress: the LLM call of the running turn (or of a turn "
                           "still waiting for one) is cancelled, its partial answer dropped, and the user's "
                           "message kept with `cancelled: true` in its metadata (docs/ai.md, \"Streaming and "
                           "cancel\"). Nothing changes when no LLM call is running.")
    def post(self, request, bot_id, conversation_id):
        conversation = conversation_of(self.bot(bot_id), conversation_id)
        up_to = turns.cancel(conversation)
        return Response({"conversationId": conversation.external_id, "cancelled": True, "eventSeq": up_to},
                        status=status.HTTP_202_ACCEPTED)
