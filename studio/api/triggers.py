"""Webhook triggers in the REST API (`/api/v1/bots/{id}/webhook-triggers`): the URL of each
webhook trigger node of the draft, and its secret, which is shown only when it is made or
rotated (docs/hooks-and-triggers.md)."""
from __future__ import annotations

from rest_framework import serializers
from rest_framework.response import Response

from runtime import triggers
from studio import channel_settings
from studio.api import errors
from studio.api.base import ApiView, operation


class WebhookTriggerSerializer(serializers.Serializer):
    flow = serializers.CharField()
    node = serializers.CharField()
    auth = serializers.ChoiceField(choices=["signature", "secret"])
    url = serializers.CharField(help_text="where the sender POSTs its JSON")
    hasSecret = serializers.BooleanField()


class WebhookSecretSerializer(serializers.Serializer):
    url = serializers.CharField()
    secret = serializers.CharField(help_text="shown once: sign bodies with it (HMAC-SHA256) or send it as a header")


def _with_url(request, item: dict) -> dict:
    return {**item, "url": request.build_absolute_uri(item["path"])}


class WebhookTriggers(ApiView):
    permissions = {"GET": "flows.view_bot"}

    @operation(operation_id="listWebhookTriggers", tags=["triggers"], responses=WebhookTriggerSerializer(many=True))
    def get(self, request, bot_id):
        items = [_with_url(request, item) for item in triggers.webhook_triggers(self.bot(bot_id))]
        return Response(WebhookTriggerSerializer(items, many=True).data)


class WebhookTriggerSecret(ApiView):
    permissions = {"POST": "flows.change_config"}

    @operation(operation_id="rotateWebhookTriggerSecret", tags=["triggers"], request=None,
               responses=WebhookSecretSerializer,
               description="Make the trigger's secret, or replace it: requests signed with the old one are refused.")
    def post(self, request, bot_id, flow, node):
        bot = self.bot(bot_id)
        trigger = triggers.find_webhook_trigger(bot, flow, node)
        if trigger is None:
            raise errors.not_found(f"the draft has no webhook trigger {node!r} in flow {flow!r}")
        secret = channel_settings.rotate_webhook_trigger_secret(bot, flow, node, user=request.user)
        return Response({"url": request.build_absolute_uri(trigger["path"]), "secret": secret})
