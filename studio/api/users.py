"""End users of a bot (the people talking to it): list, get, update name and tags, delete."""
from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.response import Response

from studio.api import errors, tags
from studio.api.base import ApiView, operation
from studio.api.bots import validated
from studio.api.pagination import PARAMETERS, page_schema, paginate
from runtime import conversations as records
from runtime.models import EndUser


class EndUserSerializer(serializers.Serializer):
    id = serializers.CharField(source="external_id")
    name = serializers.CharField(allow_blank=True)
    tags = serializers.DictField(child=serializers.CharField())
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class EndUserDetailSerializer(EndUserSerializer):
    variables = serializers.JSONField(help_text="the user's `user.*` variables")


class EndUserUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    tags = serializers.JSONField(required=False, help_text="tags to set; a null value removes that tag")


def user_of(bot, user_id: str) -> EndUser:
    found = EndUser.objects.filter(bot=bot, external_id=user_id).first()
    if found is None:
        raise errors.not_found(f"bot {bot.name!r} has no user {user_id!r}")
    return found


class EndUsers(ApiView):
    permissions = {"GET": "flows.view_conversations"}

    @operation(operation_id="listUsers", tags=["users"], parameters=[*PARAMETERS, tags.FILTER_PARAMETER],
                   responses=page_schema("UserPage", "users", EndUserSerializer), description="Newest first.")
    def get(self, request, bot_id):
        bot = self.bot(bot_id)
        queryset = tags.filtered(EndUser.objects.filter(bot=bot), request)
        page = paginate(request, queryset, [("created_at", True), ("pk", True)])
        return Response(page.data("users", lambda user: EndUserSerializer(user).data))


class EndUserDetail(ApiView):
    permissions = {"GET": "flows.view_conversations", "PATCH": "flows.change_bot", "DELETE": "flows.change_bot"}

    @operation(operation_id="getUser", tags=["users"], responses=EndUserDetailSerializer)
    def get(self, request, bot_id, user_id):
        return Response(EndUserDetailSerializer(user_of(self.bot(bot_id), user_id)).data)

    @operation(operation_id="updateUser", tags=["users"], request=EndUserUpdateSerializer,
                   responses=EndUserDetailSerializer)
    def patch(self, request, bot_id, user_id):
        bot = self.bot(bot_id)
        user = user_of(bot, user_id)
        data = validated(EndUserUpdateSerializer, request.data)
        with tags.tag_errors():
            user = records.update_user(user, tags=data.get("tags"), name=data.get("name"))
        return Response(EndUserDetailSerializer(user).data)

    @operation(operation_id="deleteUser", tags=["users"], responses={204: None},
                   description="Delete the user with all their conversations and their states.")
    def delete(self, request, bot_id, user_id):
        records.delete_user(user_of(self.bot(bot_id), user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
