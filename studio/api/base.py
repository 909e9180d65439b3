"""What every API view shares: authentication (personal access token or session), the
rules-based permission check, size-limited strict JSON, the error shape, the OpenAPI schema."""
from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from studio.api import errors, permissions
from studio.api.parsers import LimitedJSONParser
from studio.api.authentication import BearerTokenAuthentication


class ApiView(APIView):
    # Bearer first: its WWW-Authenticate header makes a call without credentials 401, not 403.
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [permissions.RulesPermission]
    parser_classes = [LimitedJSONParser]
    renderer_classes = [JSONRenderer]
    schema = AutoSchema()
    # HTTP method -> the `rules` permission it needs on the view's object (None: members only).
    permissions: dict[str, str | None] = {}

    def permission_for(self, method: str) -> str | None:
        method = method.upper()
        if method == "OPTIONS":
            return None
        # A method the view implements but forgot to name fails loudly (KeyError) rather
        # than being open to every member.
        return self.permissions["GET" if method == "HEAD" else method]

    def get_exception_handler(self):
        return errors.handle

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # PostgreSQL cannot compare text with a NUL character in it: refuse before any query.
        if any("\x00" in str(value) for value in kwargs.values()):
            raise errors.not_found("no such object (the path contains a NUL character)")
        for name, values in request.query_params.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                raise errors.invalid("query parameters may not contain the NUL character",
                                     [errors.detail(f"$query.{name}", "contains the NUL character")])

    def workspace(self, slug_or_pk):
        return permissions.workspace_for(self, slug_or_pk)

    def bot(self, bot_id):
        return permissions.bot_for(self, bot_id)


def operation(**kwargs):
    """`extend_schema` built on drf-spectacular's AutoSchema whatever REST_FRAMEWORK's
    DEFAULT_SCHEMA_CLASS says (extend_schema otherwise extends that default)."""
    def decorator(method):
        method.schema = AutoSchema
        return extend_schema(**kwargs)(method)

    return decorator
