"""Variables: the bot-level declarations (user and bot scope, editable with a base revision),
each flow's variables (read here, edited with the definition) and the stored values of the
bot-scope variables."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.response import Response

from flows import services
from studio.api.base import ApiView, operation
from studio.api.bots import invalid_bot_file, validated
from studio.api.definition import stale
from runtime.models import BotVariable


class FlowVariablesSerializer(serializers.Serializer):
    flow = serializers.CharField()
    variables = serializers.JSONField()


class VariablesSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    variables = serializers.JSONField(help_text="bot-level declarations (docs/bot-format.md, Variables)")
    flowVariables = FlowVariablesSerializer(many=True)
    botValues = serializers.JSONField(help_text='stored bot-scope values: {"production": {...}, "draft": {...}}')


class VariablesSaveSerializer(serializers.Serializer):
    baseRevision = serializers.IntegerField(min_value=1)
    variables = serializers.ListField(child=serializers.JSONField(), help_text="the new bot-level declarations")


def _list(value) -> list:
    return value if isinstance(value, list) else []


def variables_data(bot) -> dict:
    values = {"production": {}, "draft": {}}
    for row in BotVariable.objects.filter(bot=bot).order_by("name"):
        values["draft" if row.is_draft else "production"][row.name] = row.value
    return {
        "revision": bot.draft_revision,
        "variables": _list(bot.draft.get("variables")),
        "flowVariables": [{"flow": flow.get("name"), "variables": _list(flow.get("variables"))}
                          for flow in _list(bot.draft.get("flows")) if isinstance(flow, dict)],
        "botValues": values,
    }


class Variables(ApiView):
    permissions = {"GET": "flows.view_bot", "PUT": "flows.change_bot"}

    @operation(operation_id="getVariables", tags=["variables"], responses=VariablesSerializer)
    def get(self, request, bot_id):
        return Response(variables_data(self.bot(bot_id)))

    @operation(operation_id="replaceVariables", tags=["variables"], request=VariablesSaveSerializer,
                   responses={200: VariablesSerializer,
                              400: OpenApiResponse(description="problems, paths under `$.variables`"),
                              409: OpenApiResponse(description="stale `baseRevision`")})
    def put(self, request, bot_id):
        bot = self.bot(bot_id)
        data = validated(VariablesSaveSerializer, request.data)
        try:
            services.replace_variables(bot, data["variables"], base_revision=data["baseRevision"], user=request.user)
        except services.BotFileInvalid as exc:
            raise invalid_bot_file(exc, message="the variables have problems") from None
        except services.StaleRevision as exc:
            raise stale(exc) from None
        return Response(variables_data(bot))
