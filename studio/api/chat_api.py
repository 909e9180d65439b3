"""The Chat API's settings in the studio's REST API (`/api/v1/bots/{id}/chat-api`): read by
every reader of the bot, changed by those who may change its configuration. The encryption
key has its own endpoint so that reading the settings never reveals it."""
from __future__ import annotations

from rest_framework import serializers
from rest_framework.response import Response

from integrations.chat_api import services
from integrations.chat_api.errors import ChatApiError
from studio import channel_settings
from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.bots import validated


class ChatApiSettingsSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    baseUrl = serializers.CharField(help_text="what a client's apiUrl points at")
    webhookId = serializers.CharField()
    webhookUrl = serializers.CharField(allow_blank=True, help_text="where every signal is also sent (empty: none)")
    hasWebhookSecret = serializers.BooleanField()
    updatedAt = serializers.DateTimeField()


class ChatApiChangeSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    rotateKey = serializers.BooleanField(required=False, default=False,
                                         help_text="replace the key: user keys signed with the old one stop working")
    encryptionKey = serializers.CharField(required=False, min_length=16, max_length=256, write_only=True)
    webhookUrl = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    webhookSecret = serializers.CharField(required=False, min_length=8, max_length=256, write_only=True)

    def validate(self, data):
        if data.get("rotateKey") and "encryptionKey" in data:
            raise serializers.ValidationError({"encryptionKey": "give a key or ask for a new one, not both"})
        return data


class ChatApiKeySerializer(serializers.Serializer):
    encryptionKey = serializers.CharField(help_text="signs user keys (HS256 JWT {id})")


class ChatApiSettingsView(ApiView):
    permissions = {"GET": "flows.view_bot", "PATCH": "flows.change_config"}

    @operation(operation_id="getChatApiSettings", tags=["chat-api"], responses=ChatApiSettingsSerializer)
    def get(self, request, bot_id):
        return Response(ChatApiSettingsSerializer(services.settings_summary(self.bot(bot_id))).data)

    @operation(operation_id="updateChatApiSettings", tags=["chat-api"], request=ChatApiChangeSerializer,
               responses=ChatApiSettingsSerializer)
    def patch(self, request, bot_id):
        bot = self.bot(bot_id)
        data = validated(ChatApiChangeSerializer, request.data)
        try:
            channel_settings.configure_chat_api(
                bot, user=request.user, enabled=data.get("enabled"), rotate_key=data["rotateKey"],
                encryption_key=data.get("encryptionKey"), webhook_url=data.get("webhookUrl"),
                webhook_secret=data.get("webhookSecret"))
        except ChatApiError as exc:
            field = "webhookUrl" if "webhook" in exc.message else "encryptionKey" if "key" in exc.message else ""
            raise errors.invalid(exc.message, [errors.detail(f"$.{field}" if field else "$", exc.message)]) from None
        return Response(ChatApiSettingsSerializer(services.settings_summary(bot)).data)


class ChatApiKeyView(ApiView):
    permissions = {"GET": "flows.change_config"}

    @operation(operation_id="getChatApiKey", tags=["chat-api"], responses=ChatApiKeySerializer,
               description="The encryption key, for a backend that signs its own user keys.")
    def get(self, request, bot_id):
        row = services.chat_api_settings(self.bot(bot_id))
        return Response({"encryptionKey": row.encryption_key})
