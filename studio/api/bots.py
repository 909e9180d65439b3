"""Bots: list and create in a workspace, import a bot file, get, rename, delete, export."""
from __future__ import annotations

import json
import re

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from flows import services
from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.pagination import PARAMETERS, page_schema, paginate
from studio.api.parsers import BotFileParser
from studio.api.people import PersonSerializer, person
from flows.models import Bot


class BotSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    workspace = serializers.CharField(source="workspace.slug", help_text="the workspace's slug")
    name = serializers.CharField()
    description = serializers.SerializerMethodField()
    revision = serializers.IntegerField(source="draft_revision", help_text="the draft's revision")
    latestVersion = serializers.SerializerMethodField(help_text="number of the latest published version")
    createdBy = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_description(self, bot) -> str:
        description = bot.draft.get("description") if isinstance(bot.draft, dict) else ""
        return description if isinstance(description, str) else ""

    def get_latestVersion(self, bot) -> int | None:
        return bot.versions.order_by("-number").values_list("number", flat=True).first()

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_createdBy(self, bot):
        return person(bot.created_by)


class BotCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, trim_whitespace=True)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


class BotUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


def bot_data(bot: Bot) -> dict:
    return BotSerializer(bot).data


def validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def invalid_change(exc: services.InvalidChange):
    return errors.invalid(str(exc), [errors.detail(exc.path, str(exc))])


def invalid_bot_file(exc: services.BotFileInvalid, *, under=None, message=None):
    count = len(exc.problems)
    return errors.invalid(
        message or f"the bot file has {count} problem{'s' if count != 1 else ''}",
        errors.problem_details(exc.problems, under=under),
        code="invalid_bot_file",
    )


class WorkspaceBots(ApiView):
    permissions = {"GET": "flows.view_bot", "POST": "flows.add_bot"}

    @operation(operation_id="listBots", tags=["bots"], parameters=PARAMETERS,
                   responses=page_schema("BotPage", "bots", BotSerializer))
    def get(self, request, workspace):
        workspace = self.workspace(workspace)
        page = paginate(request, Bot.objects.filter(workspace=workspace).select_related("workspace", "created_by"),
                        [("name", False), ("id", False)])
        return Response(page.data("bots", bot_data))

    @operation(operation_id="createBot", tags=["bots"], request=BotCreateSerializer,
                   responses={201: BotSerializer})
    def post(self, request, workspace):
        workspace = self.workspace(workspace)
        data = validated(BotCreateSerializer, request.data)
        try:
            bot = services.create_bot(workspace, name=data["name"], description=data["description"],
                                      user=request.user)
        except services.InvalidChange as exc:
            raise invalid_change(exc) from None
        return Response(bot_data(bot), status=status.HTTP_201_CREATED)


class ImportBot(ApiView):
    permissions = {"POST": "flows.add_bot"}
    parser_classes = [BotFileParser]

    @operation(
        operation_id="importBot", tags=["bots"],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={201: BotSerializer},
        description="Create a bot from a bot file (`flowstudio.bot/1`, docs/bot-format.md). The body is "
                    "the file itself. An invalid file stores nothing and answers 400 listing every "
                    "problem with its JSON path in the file.",
    )
    def post(self, request, workspace):
        workspace = self.workspace(workspace)
        raw = request.data if isinstance(request.data, bytes) else b""
        try:
            bot = services.import_bot(raw, workspace=workspace, user=request.user)
        except services.BotFileInvalid as exc:
            raise invalid_bot_file(exc) from None
        return Response(bot_data(bot), status=status.HTTP_201_CREATED)


class BotDetail(ApiView):
    permissions = {"GET": "flows.view_bot", "PATCH": "flows.change_bot", "DELETE": "flows.delete_bot"}

    @operation(operation_id="getBot", tags=["bots"], responses=BotSerializer)
    def get(self, request, bot_id):
        return Response(bot_data(self.bot(bot_id)))

    @operation(operation_id="updateBot", tags=["bots"], request=BotUpdateSerializer, responses=BotSerializer,
                   description="Rename the bot or change its description (a draft change: the revision goes up).")
    def patch(self, request, bot_id):
        bot = self.bot(bot_id)
        data = validated(BotUpdateSerializer, request.data)
        try:
            services.update_bot(bot, name=data.get("name"), description=data.get("description"),
                                user=request.user)
        except services.InvalidChange as exc:
            raise invalid_change(exc) from None
        return Response(bot_data(bot))

    @operation(operation_id="deleteBot", tags=["bots"], responses={204: None},
                   description="Delete the bot with its versions, conversations, users, states and "
                               "configuration values.")
    def delete(self, request, bot_id):
        services.delete_bot(self.bot(bot_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _file_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "bot"
    return f"{stem[:80]}.bot.json"


class ExportBot(ApiView):
    permissions = {"GET": "flows.view_bot"}

    @operation(
        operation_id="exportBot", tags=["bots"],
        parameters=[OpenApiParameter("version", OpenApiTypes.INT, description="a published version (default: the draft)")],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="the bot file")},
        description="The bot file, as a download: canonical for a version or a valid draft; an unfinished "
                    "draft as the editor left it (like the studio's export), with its problem count in the "
                    "`X-Bot-File-Problems` header. Configuration values are never included.",
    )
    def get(self, request, bot_id):
        bot = self.bot(bot_id)
        raw_version = request.query_params.get("version")
        version = None
        if raw_version not in (None, ""):
            if not raw_version.isdigit():
                raise errors.invalid("version is a version number", [errors.detail("$query.version", "a whole number")])
            version = int(raw_version)
        problems = 0
        try:
            document = services.export_bot(bot, version=version)
        except services.UnknownVersion as exc:
            raise errors.not_found(str(exc)) from None
        except services.BotFileInvalid as exc:
            # Work is never trapped: an unfinished draft still exports, as stored.
            document, problems = services.draft_document(bot), len(exc.problems)
        response = HttpResponse(_dumps(document), content_type="application/json")
        name = document.get("name") if isinstance(document.get("name"), str) else bot.name
        response["Content-Disposition"] = f'attachment; filename="{_file_name(name)}"'
        response["X-Bot-File-Problems"] = str(problems)
        return response


def _dumps(document: dict) -> str:
    # The same text as `manage.py bot export`, so files from either diff cleanly.
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
