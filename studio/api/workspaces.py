"""Workspaces: list yours, create, get, rename, delete (owner only, confirming the name)."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.response import Response

from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.bots import validated
from studio.api.pagination import PARAMETERS, page_schema, paginate
from studio import permissions as studio_permissions
from studio.people import workspaces as workspace_services
from studio.people.models import Role


class WorkspaceSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    slug = serializers.CharField(help_text="use it (or the id) in URLs")
    name = serializers.CharField()
    role = serializers.SerializerMethodField(help_text="your role in it")
    createdAt = serializers.DateTimeField(source="created_at")

    def get_role(self, workspace) -> str:
        role = studio_permissions.role_of(self.context["user"], workspace)
        return role.value if role else ""


class WorkspaceWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


def workspace_data(workspace, user) -> dict:
    return WorkspaceSerializer(workspace, context={"user": user}).data


def workspace_error(exc: workspace_services.WorkspaceError, *, query_fields=()):
    """A refused workspace change as a 400 naming the field."""
    message = str(exc)
    field = exc.field
    if field and message.startswith(f"{field}: "):
        message = message[len(field) + 2:]
    camel = "".join(part if i == 0 else part.capitalize() for i, part in enumerate((field or "").split("_")))
    where = f"$query.{camel}" if field in query_fields else (f"$.{camel}" if field else "$")
    return errors.invalid(message, [errors.detail(where, message)])


ROLES = [role.value for role in Role]


class Workspaces(ApiView):
    # No object yet: any signed-in user may list their own workspaces and create one.
    permissions = {"GET": None, "POST": None}

    @operation(operation_id="listWorkspaces", tags=["workspaces"], parameters=PARAMETERS,
                   responses=page_schema("WorkspacePage", "workspaces", WorkspaceSerializer),
                   description="The workspaces you are a member of.")
    def get(self, request):
        page = paginate(request, studio_permissions.workspaces_for(request.user), [("name", False), ("pk", False)])
        return Response(page.data("workspaces", lambda workspace: workspace_data(workspace, request.user)))

    @operation(operation_id="createWorkspace", tags=["workspaces"], request=WorkspaceWriteSerializer,
                   responses={201: WorkspaceSerializer}, description="You become its owner.")
    def post(self, request):
        data = validated(WorkspaceWriteSerializer, request.data)
        try:
            workspace = workspace_services.create_workspace(request.user, data["name"])
        except workspace_services.WorkspaceError as exc:
            raise workspace_error(exc) from None
        return Response(workspace_data(workspace, request.user), status=status.HTTP_201_CREATED)


class WorkspaceDetail(ApiView):
    permissions = {"GET": "studio.view_workspace", "PATCH": "studio.change_workspace",
                   "DELETE": "studio.delete_workspace"}

    @operation(operation_id="getWorkspace", tags=["workspaces"], responses=WorkspaceSerializer)
    def get(self, request, workspace):
        return Response(workspace_data(self.workspace(workspace), request.user))

    @operation(operation_id="renameWorkspace", tags=["workspaces"], request=WorkspaceWriteSerializer,
                   responses=WorkspaceSerializer)
    def patch(self, request, workspace):
        workspace = self.workspace(workspace)
        data = validated(WorkspaceWriteSerializer, request.data)
        try:
            workspace_services.rename_workspace(workspace, data["name"], actor=request.user)
        except workspace_services.WorkspaceError as exc:
            raise workspace_error(exc) from None
        return Response(workspace_data(workspace, request.user))

    @operation(
        operation_id="deleteWorkspace", tags=["workspaces"], responses={204: None},
        parameters=[OpenApiParameter("confirmName", OpenApiTypes.STR, required=True,
                                     description="the workspace's name, to confirm")],
        description="Delete the workspace and everything in it (bots, versions, conversations, members).",
    )
    def delete(self, request, workspace):
        workspace = self.workspace(workspace)
        try:
            workspace_services.delete_workspace(workspace, actor=request.user,
                                                confirm_name=request.query_params.get("confirmName", ""))
        except workspace_services.WorkspaceError as exc:
            raise workspace_error(exc, query_fields=("confirm_name",)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
