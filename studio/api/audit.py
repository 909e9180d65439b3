"""The audit log of a workspace (managers and up): who did what to which object and when."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from studio.api.base import ApiView, operation
from studio.api.pagination import PARAMETERS, page_schema, paginate
from studio.api.people import PersonSerializer, person
from studio.people import audit


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    action = serializers.CharField(help_text='"<object>.<verb>", e.g. bot.publish')
    description = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()
    targetType = serializers.CharField(source="target_type")
    targetId = serializers.CharField(source="target_id")
    target = serializers.CharField(source="target_repr")
    details = serializers.JSONField()
    createdAt = serializers.DateTimeField(source="created_at")

    def get_description(self, entry) -> str:
        return audit.describe(entry.action)

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_actor(self, entry):
        return person(entry.actor)


class AuditLog(ApiView):
    permissions = {"GET": "studio.view_audit"}

    @operation(
        operation_id="listAuditEntries", tags=["workspaces"],
        parameters=[*PARAMETERS, OpenApiParameter("action", OpenApiTypes.STR, description="e.g. bot.publish"),
                    OpenApiParameter("targetId", OpenApiTypes.STR, description="e.g. a bot's id")],
        responses=page_schema("AuditPage", "entries", AuditEntrySerializer), description="Newest first.",
    )
    def get(self, request, workspace):
        workspace = self.workspace(workspace)
        entries = workspace.audit_entries.select_related("actor")
        if request.query_params.get("action"):
            entries = entries.filter(action=request.query_params["action"])
        if request.query_params.get("targetId"):
            entries = entries.filter(target_id=request.query_params["targetId"])
        page = paginate(request, entries, [("created_at", True), ("pk", True)])
        return Response(page.data("entries", lambda entry: AuditEntrySerializer(entry).data))
