"""The state API (seed 001): named JSON values per conversation, user, bot or workflow.

    GET    /bots/{bot}/states/{type}/{id}                  listStates
    GET    /bots/{bot}/states/{type}/{id}/{name}           getState (404 when absent or expired)
    POST   /bots/{bot}/states/{type}/{id}/{name}           setState
    POST   /bots/{bot}/states/{type}/{id}/{name}/get-or-set getOrSetState
    DELETE /bots/{bot}/states/{type}/{id}/{name}           deleteState

Semantics and expiry are in `runtime.state` and docs/state-api.md.
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.response import Response

from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.bots import validated
from runtime import state as states


class StateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=states.STATE_TYPES)
    id = serializers.CharField(help_text="the conversation's or user's id, the bot's id, or a workflow id")
    name = serializers.CharField()
    payload = serializers.JSONField()
    expiry = serializers.IntegerField(allow_null=True, help_text="seconds from the last write; null: never")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    expiresAt = serializers.DateTimeField(allow_null=True)


class StateEnvelopeSerializer(serializers.Serializer):
    state = StateSerializer()


class StateListSerializer(serializers.Serializer):
    states = StateSerializer(many=True)


class StateWriteSerializer(serializers.Serializer):
    payload = serializers.JSONField(help_text="a JSON object, at most 128 KB")
    expiry = serializers.IntegerField(required=False, allow_null=True, default=None,
                                      min_value=1, max_value=states.MAX_EXPIRY_SECONDS,
                                      help_text="seconds until the state expires and `state_expired` fires")
    conversationId = serializers.CharField(required=False, allow_null=True, default=None, max_length=255,
                                           help_text="bot and workflow states: the conversation that hears "
                                                     "`state_expired`")


def _state_errors(exc: Exception):
    if isinstance(exc, states.StateTooLarge):
        return errors.too_large(str(exc), [errors.detail(f"$.{exc.field}", str(exc))])
    if isinstance(exc, states.StateInvalid):
        where = f"$path.{exc.field}" if exc.field in ("type", "id", "name") else f"$.{exc.field}"
        if exc.field == "type":
            return errors.not_found(str(exc))
        return errors.invalid(str(exc), [errors.detail(where, str(exc))])
    if isinstance(exc, (states.ScopeNotFound, states.StateNotFound)):
        return errors.not_found(str(exc))
    raise exc


TYPE_PARAMETER = OpenApiParameter("state_type", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(states.STATE_TYPES),
                                  description="conversation, user, bot or workflow")


class _StateView(ApiView):
    permissions = {"GET": "flows.view_conversations", "POST": "flows.change_bot", "DELETE": "flows.change_bot"}

    def scope(self, bot_id, state_type, scope_id):
        bot = self.bot(bot_id)
        try:
            return states.resolve_scope(bot, state_type, scope_id)
        except (states.StateInvalid, states.ScopeNotFound) as exc:
            raise _state_errors(exc) from None

    def write(self, request, scope, name, function):
        data = validated(StateWriteSerializer, request.data)
        try:
            return function(scope, name, data["payload"], expiry=data["expiry"],
                            conversation_id=data["conversationId"])
        except (states.StateInvalid, states.ScopeNotFound) as exc:
            raise _state_errors(exc) from None


class StateList(_StateView):
    @operation(operation_id="listStates", tags=["state"], parameters=[TYPE_PARAMETER], responses=StateListSerializer,
                   description="Every live state of the scope, by name.")
    def get(self, request, bot_id, state_type, scope_id):
        scope = self.scope(bot_id, state_type, scope_id)
        return Response({"states": [states.as_dict(state) for state in states.list_states(scope)]})


class StateDetail(_StateView):
    @operation(operation_id="getState", tags=["state"], parameters=[TYPE_PARAMETER], responses=StateEnvelopeSerializer)
    def get(self, request, bot_id, state_type, scope_id, name):
        scope = self.scope(bot_id, state_type, scope_id)
        try:
            return Response({"state": states.as_dict(states.get_state(scope, name))})
        except (states.StateInvalid, states.StateNotFound) as exc:
            raise _state_errors(exc) from None

    @operation(operation_id="setState", tags=["state"], parameters=[TYPE_PARAMETER], request=StateWriteSerializer,
                   responses={200: StateEnvelopeSerializer, 413: OpenApiResponse(description="payload over 128 KB")},
                   description="Create or overwrite the state. `expiry` restarts from now.")
    def post(self, request, bot_id, state_type, scope_id, name):
        scope = self.scope(bot_id, state_type, scope_id)
        state = self.write(request, scope, name, states.set_state)
        return Response({"state": states.as_dict(state)})

    @operation(operation_id="deleteState", tags=["state"], parameters=[TYPE_PARAMETER], responses={204: None})
    def delete(self, request, bot_id, state_type, scope_id, name):
        scope = self.scope(bot_id, state_type, scope_id)
        try:
            states.delete_state(scope, name)
        except (states.StateInvalid, states.StateNotFound) as exc:
            raise _state_errors(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class StateGetOrSet(_StateView):
    @operation(operation_id="getOrSetState", tags=["state"], parameters=[TYPE_PARAMETER], request=StateWriteSerializer,
                   responses={200: StateEnvelopeSerializer, 201: StateEnvelopeSerializer},
                   description="The live state unchanged (200), or a new one with `payload` (201).")
    def post(self, request, bot_id, state_type, scope_id, name):
        scope = self.scope(bot_id, state_type, scope_id)
        state, created = self.write(request, scope, name, states.get_or_set_state)
        return Response({"state": states.as_dict(state)}, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
