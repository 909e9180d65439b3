"""A workspace's LLM providers (`/api/v1/workspaces/{ws}/llm-providers`) and a bot's LLM
usage (`/api/v1/bots/{id}/llm-usage`), docs/ai.md "Providers" and "Usage".

Every member sees the providers; only owners and administrators add, change or remove them.
The API key is write-only: answers say `has_api_key`, never the key. The body goes to
`integrations.llm.services.save_provider` as it came (no serializer in between) so that an
unknown field is refused, and its `ProviderInvalid` names the field, as a JSON path."""
from __future__ import annotations

import re
from datetime import datetime, time

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.response import Response

from integrations.llm.models import LLMProvider
from integrations.llm.services import describe
from runtime import llm_usage
from studio import llm_providers
from studio.api import errors
from studio.api.base import ApiView, operation

# "[1].priceIn: a price ..." (integrations/llm/client.parse_models) -> "$.models[1].priceIn"
_MODELS_ENTRY = re.compile(r"^(\[\d+\](?:\.[A-Za-z]+)?): (.*)$", re.S)


class ModelSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200, help_text="the id the provider knows the model by")
    label = serializers.CharField(required=False, allow_blank=True, max_length=50,
                                  help_text="how cards may name it, e.g. Fast")
    contextWindow = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    priceIn = serializers.FloatField(required=False, min_value=0, max_value=1000,
                                     help_text="cost per 1,000 input tokens")
    priceOut = serializers.FloatField(required=False, min_value=0, max_value=1000,
                                      help_text="cost per 1,000 output tokens")


class ProviderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="how bots (settings.llm.provider) and cards (model 'name/model') name it")
    kind = serializers.ChoiceField(choices=LLMProvider.Kind.values)
    base_url = serializers.CharField()
    has_api_key = serializers.BooleanField(help_text="whether a key is stored (the key itself is never returned)")
    models = ModelSerializer(many=True)
    default_model = serializers.CharField(allow_blank=True)
    is_default = serializers.BooleanField(help_text="the provider of bots that name none")
    timeout_seconds = serializers.FloatField()
    max_retries = serializers.IntegerField()
    resolved_default_model = serializers.CharField(allow_blank=True,
                                                   help_text="the model id a card with an empty model gets")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProviderWriteSerializer(serializers.Serializer):
    """The schema of a create or change; the body is checked by save_provider."""
    name = serializers.CharField(max_length=64, help_text="letters, digits, - and _")
    base_url = serializers.URLField(max_length=500, help_text="an OpenAI-compatible endpoint, "
                                                              "e.g. https://api.openai.com/v1")
    api_key = serializers.CharField(required=False, allow_blank=True, max_length=1000, write_only=True,
                                    style={"input_type": "password"},
                                    help_text="stored encrypted, never returned; on a change, omit it to keep "
                                              "the stored key, \"\" removes it")
    models = ModelSerializer(many=True, required=False)
    default_model = serializers.CharField(required=False, allow_blank=True, max_length=200)
    is_default = serializers.BooleanField(required=False)
    timeout_seconds = serializers.FloatField(required=False, min_value=1, max_value=25)
    max_retries = serializers.IntegerField(required=False, min_value=0, max_value=5)


class ProviderListSerializer(serializers.Serializer):
    providers = ProviderSerializer(many=True)


class UsageSumsSerializer(serializers.Serializer):
    calls = serializers.IntegerField()
    tokensIn = serializers.IntegerField()
    tokensOut = serializers.IntegerField()
    cost = serializers.FloatField(help_text="from the models' prices per 1,000 tokens at the time of each call")


class ModelUsageSerializer(UsageSumsSerializer):
    provider = serializers.CharField()
    model = serializers.CharField()


class UsageSerializer(UsageSumsSerializer):
    since = serializers.DateTimeField(allow_null=True)
    models = ModelUsageSerializer(many=True)


def provider_invalid(exc: llm_providers.ProviderInvalid) -> errors.ApiError:
    if exc.field == "(body)":
        path, message = "$", exc.message
    elif exc.field == "models" and (entry := _MODELS_ENTRY.match(exc.message)):
        path, message = "$.models" + entry.group(1), entry.group(2)
    else:
        path, message = f"$.{exc.field}", exc.message
    where = path[2:] if path.startswith("$.") else "the body"
    return errors.invalid(f"{where}: {message}", [errors.detail(path, message)])


def _provider(workspace, provider_id) -> LLMProvider:
    found = LLMProvider.objects.filter(workspace=workspace, pk=provider_id).first()
    if found is None:
        raise errors.not_found(f"{workspace.name} has no LLM provider {provider_id}")
    return found


def _since(request):
    raw = request.query_params.get("since")
    if raw in (None, ""):
        return None
    try:
        moment = parse_datetime(raw)
        day = None if moment else parse_date(raw)
    except ValueError:
        moment = day = None
    if day is not None:
        moment = datetime.combine(day, time.min)
    if moment is None:
        message = "an ISO 8601 date or date and time, e.g. 2026-12-01 or 2026-12-01T09:00:00Z"
        raise errors.invalid(f"since: {message}", [errors.detail("$query.since", message)])
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Providers(ApiView):
    permissions = {"GET": "studio.view_workspace", "POST": "studio.manage_llm_providers"}

    @operation(operation_id="listLLMProviders", tags=["llm"], responses=ProviderListSerializer)
    def get(self, request, workspace):
        workspace = self.workspace(workspace)
        return Response({"providers": [describe(p) for p in LLMProvider.objects.filter(workspace=workspace)]})

    @operation(operation_id="addLLMProvider", tags=["llm"], request=ProviderWriteSerializer,
               responses={201: ProviderSerializer},
               description="Add an OpenAI-compatible provider. Owners and administrators only.")
    def post(self, request, workspace):
        workspace = self.workspace(workspace)
        try:
            provider = llm_providers.add_provider(workspace, request.data, user=request.user)
        except llm_providers.ProviderInvalid as exc:
            raise provider_invalid(exc) from None
        return Response(describe(provider), status=status.HTTP_201_CREATED)


class ProviderDetail(ApiView):
    permissions = {"GET": "studio.view_workspace", "PATCH": "studio.manage_llm_providers",
                   "DELETE": "studio.manage_llm_providers"}

    @operation(operation_id="getLLMProvider", tags=["llm"], responses=ProviderSerializer)
    def get(self, request, workspace, provider_id):
        return Response(describe(_provider(self.workspace(workspace), provider_id)))

    @operation(operation_id="changeLLMProvider", tags=["llm"], request=ProviderWriteSerializer,
               responses=ProviderSerializer,
               description="Change the fields given; without `api_key` the stored key is kept.")
    def patch(self, request, workspace, provider_id):
        provider = _provider(self.workspace(workspace), provider_id)
        try:
            provider = llm_providers.change_provider(provider, request.data, user=request.user)
        except llm_providers.ProviderInvalid as exc:
            raise provider_invalid(exc) from None
        return Response(describe(provider))

    @operation(operation_id="removeLLMProvider", tags=["llm"], responses={204: None},
               description="Bots and cards that name it fail with a clear error until another is chosen.")
    def delete(self, request, workspace, provider_id):
        llm_providers.remove_provider(_provider(self.workspace(workspace), provider_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BotUsage(ApiView):
    permissions = {"GET": "flows.view_bot"}

    @operation(operation_id="getLLMUsage", tags=["llm"], responses=UsageSerializer,
               parameters=[OpenApiParameter("since", OpenApiTypes.STR, description=(
                   "count only calls from this moment on (ISO 8601 date or date and time; a date "
                   "without time zone is in the server's)"))],
               description="LLM calls, tokens in and out and cost of the bot (draft and published), "
                           "in all and per provider and model.")
    def get(self, request, bot_id):
        bot = self.bot(bot_id)
        since = _since(request)
        return Response({"since": since, **llm_usage.totals(bot, since=since)})
