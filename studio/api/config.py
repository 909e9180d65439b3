"""Configuration variables: names (in the bot file) and values per environment (stored
encrypted, write-only: no response ever contains a value)."""
from __future__ import annotations

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.response import Response

from flows import services
from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.bots import invalid_bot_file, invalid_change, validated
from flows.models import ConfigValue

ENVIRONMENTS = [key for key, _ in ConfigValue.ENVIRONMENTS]
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ValueStateSerializer(serializers.Serializer):
    set = serializers.BooleanField(help_text="whether a value is stored (the value itself is never returned)")
    updatedAt = serializers.DateTimeField(allow_null=True)


class ConfigValuesSerializer(serializers.Serializer):
    draft = ValueStateSerializer(help_text="used by the emulator")
    production = ValueStateSerializer(help_text="used by published versions")


class ConfigVariableSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    declared = serializers.BooleanField(help_text="false for values left over from a name the draft no longer has")
    values = ConfigValuesSerializer()


class ConfigListSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    variables = ConfigVariableSerializer(many=True)


class DeclareSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)

    def validate_name(self, value):
        if not NAME.match(value):
            raise serializers.ValidationError("letters, digits and _, not starting with a digit")
        return value


class ValueSerializer(serializers.Serializer):
    value = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=65_536,
                                  style={"input_type": "password"}, write_only=True)


def _declared(bot) -> list[dict]:
    config = bot.draft.get("config")
    return [item for item in config if isinstance(item, dict) and isinstance(item.get("name"), str)] \
        if isinstance(config, list) else []


def config_entries(bot) -> list[dict]:
    stored: dict[str, dict[str, ConfigValue]] = {}
    for value in ConfigValue.objects.filter(bot=bot).defer("encrypted_value"):
        stored.setdefault(value.name, {})[value.environment] = value
    names = [(item["name"], item.get("description") or "", True) for item in _declared(bot)]
    names += [(name, "", False) for name in sorted(stored) if name not in {n for n, _, _ in names}]
    return [{
        "name": name,
        "description": description if isinstance(description, str) else "",
        "declared": declared,
        "values": {env: {"set": env in stored.get(name, {}),
                         "updatedAt": stored[name][env].updated_at if env in stored.get(name, {}) else None}
                   for env in ENVIRONMENTS},
    } for name, description, declared in names]


def _entry(bot, name: str) -> dict:
    for entry in config_entries(bot):
        if entry["name"] == name:
            return ConfigVariableSerializer(entry).data
    raise errors.not_found(f"bot {bot.name!r} has no configuration variable {name!r}")


def _environment(environment: str) -> str:
    if environment not in ENVIRONMENTS:
        raise errors.not_found(f"unknown environment {environment!r}; use one of {', '.join(ENVIRONMENTS)}")
    return environment


ENVIRONMENT_PARAMETER = OpenApiParameter("environment", OpenApiTypes.STR, OpenApiParameter.PATH, enum=ENVIRONMENTS,
                                        description="draft (the emulator) or production")


class ConfigVariables(ApiView):
    permissions = {"GET": "flows.view_bot", "POST": "flows.change_config"}

    @operation(operation_id="listConfigVariables", tags=["config"], responses=ConfigListSerializer)
    def get(self, request, bot_id):
        bot = self.bot(bot_id)
        return Response(ConfigListSerializer({"revision": bot.draft_revision, "variables": config_entries(bot)}).data)

    @operation(operation_id="declareConfigVariable", tags=["config"], request=DeclareSerializer,
                   responses={201: ConfigVariableSerializer},
                   description="Add a name to the bot file's `config` list (a draft change).")
    def post(self, request, bot_id):
        bot = self.bot(bot_id)
        data = validated(DeclareSerializer, request.data)
        try:
            services.declare_config_variable(bot, data["name"], description=data["description"], user=request.user)
        except services.ConfigVariableExists as exc:
            raise errors.conflict(str(exc), code="already_declared") from None
        except services.BotFileInvalid as exc:
            raise invalid_bot_file(exc, message="the configuration variable cannot be declared") from None
        return Response(_entry(bot, data["name"]), status=status.HTTP_201_CREATED)


class ConfigVariable(ApiView):
    permissions = {"GET": "flows.view_bot", "DELETE": "flows.change_config"}

    @operation(operation_id="getConfigVariable", tags=["config"], responses=ConfigVariableSerializer)
    def get(self, request, bot_id, name):
        return Response(_entry(self.bot(bot_id), name))

    @operation(operation_id="removeConfigVariable", tags=["config"], responses={204: None},
                   description="Remove the name from the draft and delete its values in every environment.")
    def delete(self, request, bot_id, name):
        bot = self.bot(bot_id)
        try:
            services.remove_config_variable(bot, name, user=request.user)
        except services.UnknownConfigVariable as exc:
            raise errors.not_found(str(exc)) from None
        except services.BotFileInvalid as exc:
            raise invalid_bot_file(exc, message="the configuration variable cannot be removed") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConfigValueView(ApiView):
    permissions = {"PUT": "flows.change_config", "DELETE": "flows.change_config"}

    @operation(operation_id="setConfigValue", tags=["config"], parameters=[ENVIRONMENT_PARAMETER], request=ValueSerializer,
                   responses=ConfigVariableSerializer,
                   description="Store the value for one environment (`draft` or `production`), encrypted. "
                               "The response says that a value is set, never what it is.")
    def put(self, request, bot_id, name, environment):
        bot = self.bot(bot_id)
        environment = _environment(environment)
        data = validated(ValueSerializer, request.data)
        try:
            services.set_config_value(bot, name, environment, data["value"], user=request.user)
        except services.UnknownConfigVariable as exc:
            raise errors.not_found(str(exc)) from None
        except services.InvalidChange as exc:
            raise invalid_change(exc) from None
        return Response(_entry(bot, name))

    @operation(operation_id="deleteConfigValue", tags=["config"], parameters=[ENVIRONMENT_PARAMETER], responses={204: None})
    def delete(self, request, bot_id, name, environment):
        bot = self.bot(bot_id)
        try:
            services.delete_config_value(bot, name, _environment(environment), user=request.user)
        except services.UnknownConfigVariable as exc:
            raise errors.not_found(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
