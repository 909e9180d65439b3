"""Published versions: publish the draft with a note, list, get, restore into the draft,
and diff two versions (or a version and the draft)."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from flows import services
from studio.publishing import publish_draft
from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.bots import invalid_bot_file, validated
from studio.api.definition import stale
from studio.api.pagination import PARAMETERS, page_schema, paginate
from studio.api.people import PersonSerializer, person
from flows.models import BotVersion
from flows.versions_diff import diff_definitions, summary_text


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    note = serializers.CharField(allow_blank=True)
    author = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_author(self, version):
        return person(version.author)


class VersionDetailSerializer(VersionSerializer):
    definition = serializers.JSONField(help_text="the bot file as published")


class PublishSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RestoreSerializer(serializers.Serializer):
    baseRevision = serializers.IntegerField(required=False, min_value=1,
                                            help_text="refuse (409) if the draft is no longer at this revision")


class RestoredSerializer(serializers.Serializer):
    revision = serializers.IntegerField(help_text="the draft's new revision")
    restoredVersion = serializers.IntegerField()


class DiffSerializer(serializers.Serializer):
    fromVersion = serializers.CharField(help_text="a version number or `draft`")
    toVersion = serializers.CharField(help_text="a version number or `draft`")
    summary = serializers.CharField()
    changes = serializers.JSONField(help_text="flows.versions_diff result (docs/rest-api.md, Version diff)")


def _version(bot, number: int) -> BotVersion:
    found = bot.versions.select_related("author").filter(number=number).first()
    if found is None:
        raise errors.not_found(f"bot {bot.name!r} has no version {number}")
    return found


class Versions(ApiView):
    permissions = {"GET": "flows.view_bot", "POST": "flows.publish_bot"}

    @operation(operation_id="listVersions", tags=["versions"], parameters=PARAMETERS,
                   responses=page_schema("VersionPage", "versions", VersionSerializer),
                   description="Newest first.")
    def get(self, request, bot_id):
        bot = self.bot(bot_id)
        page = paginate(request, bot.versions.select_related("author").defer("definition"), [("number", True)])
        return Response(page.data("versions", lambda version: VersionSerializer(version).data))

    @operation(operation_id="publish", tags=["versions"], request=PublishSerializer,
                   responses={201: VersionSerializer,
                              400: OpenApiResponse(description="the draft has problems (paths in the bot file)")},
                   description="Publish the draft as the next version. Conversations move to it at their next dialog.")
    def post(self, request, bot_id):
        bot = self.bot(bot_id)
        data = validated(PublishSerializer, request.data)
        try:
            version = publish_draft(bot, user=request.user, note=data["note"])
        except services.BotFileInvalid as exc:
            raise invalid_bot_file(exc, message="the draft cannot be published: it has problems") from None
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)


class VersionDetail(ApiView):
    permissions = {"GET": "flows.view_bot"}

    @operation(operation_id="getVersion", tags=["versions"], responses=VersionDetailSerializer)
    def get(self, request, bot_id, number):
        return Response(VersionDetailSerializer(_version(self.bot(bot_id), number)).data)


class RestoreVersion(ApiView):
    permissions = {"POST": "flows.change_bot"}

    @operation(operation_id="restoreVersion", tags=["versions"], request=RestoreSerializer,
                   responses={200: RestoredSerializer, 409: OpenApiResponse(description="stale `baseRevision`")},
                   description="Copy the version into the draft (a draft change: the revision goes up).")
    def post(self, request, bot_id, number):
        bot = self.bot(bot_id)
        data = validated(RestoreSerializer, request.data)
        _version(bot, number)
        base = data.get("baseRevision")
        if base is not None and base != bot.draft_revision:
            raise stale(services.StaleRevision(bot.draft_revision))
        try:
            services.restore(bot, number, user=request.user)
        except services.UnknownVersion as exc:
            raise errors.not_found(str(exc)) from None
        return Response({"revision": bot.draft_revision, "restoredVersion": number})


def _side(bot, raw, name: str):
    """A version number or `draft` from the query, as (label, document)."""
    if raw in (None, "", "draft"):
        return "draft", services.draft_document(bot)
    if not raw.isdigit():
        raise errors.invalid(f"{name} is a version number or 'draft'",
                             [errors.detail(f"$query.{name}", "a version number or 'draft'")])
    return raw, _version(bot, int(raw)).definition


class VersionDiff(ApiView):
    permissions = {"GET": "flows.view_bot"}

    @operation(
        operation_id="diffVersions", tags=["versions"],
        parameters=[OpenApiParameter("from", OpenApiTypes.STR, required=True, description="version number or `draft`"),
                    OpenApiParameter("to", OpenApiTypes.STR, description="version number or `draft` (default)")],
        responses=DiffSerializer,
        description="What changed from `from` to `to`: flows, nodes and cards added, removed and changed.",
    )
    def get(self, request, bot_id):
        bot = self.bot(bot_id)
        if not request.query_params.get("from"):
            raise errors.invalid("from is required", [errors.detail("$query.from", "a version number or 'draft'")])
        old_label, old = _side(bot, request.query_params.get("from"), "from")
        new_label, new = _side(bot, request.query_params.get("to"), "to")
        changes = diff_definitions(old, new)
        return Response({"fromVersion": old_label, "toVersion": new_label, "summary": summary_text(changes),
                         "changes": changes})
