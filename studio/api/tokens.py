"""Your personal access tokens: list, create (the token is shown once), revoke."""
from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.response import Response

from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.bots import validated
from studio.api.pagination import PARAMETERS, page_schema, paginate
from studio.people import tokens as token_services
from studio.people.models import PersonalAccessToken


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    note = serializers.CharField()
    prefix = serializers.CharField(help_text="the token's first characters, to tell tokens apart")
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)


class CreatedTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="use as `Authorization: Bearer <token>`; shown only now")


class TokenCreateSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=100, help_text="what the token is for")


def _own_token(request, token_id: int) -> PersonalAccessToken:
    token = PersonalAccessToken.objects.filter(user=request.user, pk=token_id).first()
    if token is None:
        raise errors.not_found(f"you have no token {token_id}")
    return token


class Tokens(ApiView):
    # Tokens belong to the signed-in user; there is no workspace object to ask about.
    permissions = {"GET": None, "POST": None}

    @operation(operation_id="listTokens", tags=["tokens"], parameters=PARAMETERS,
                   responses=page_schema("TokenPage", "tokens", TokenSerializer))
    def get(self, request):
        page = paginate(request, PersonalAccessToken.objects.filter(user=request.user),
                        [("created_at", True), ("pk", True)])
        return Response(page.data("tokens", lambda token: TokenSerializer(token).data))

    @operation(operation_id="createToken", tags=["tokens"], request=TokenCreateSerializer,
                   responses={201: CreatedTokenSerializer})
    def post(self, request):
        data = validated(TokenCreateSerializer, request.data)
        try:
            token, raw = token_services.create_token(request.user, data["note"])
        except token_services.TokenNoteInvalid as exc:
            message = str(exc).removeprefix("note: ")
            raise errors.invalid(message, [errors.detail("$.note", message)]) from None
        return Response({**TokenSerializer(token).data, "token": raw}, status=status.HTTP_201_CREATED)


class TokenDetail(ApiView):
    permissions = {"GET": None, "DELETE": None}

    @operation(operation_id="getToken", tags=["tokens"], responses=TokenSerializer)
    def get(self, request, token_id):
        return Response(TokenSerializer(_own_token(request, token_id)).data)

    @operation(operation_id="revokeToken", tags=["tokens"], responses={204: None},
                   description="The token stops working at once. Revoking twice is harmless.")
    def delete(self, request, token_id):
        token_services.revoke(_own_token(request, token_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
