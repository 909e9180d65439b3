"""Members and invitations of a workspace: list, invite by email to a role, change a role,
remove a member, list and revoke pending invitations."""
from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.bots import validated
from studio.api.pagination import PARAMETERS, page_schema, paginate
from studio.api.people import PersonSerializer, person
from studio.api.workspaces import ROLES, workspace_error
from studio.people import workspaces as workspace_services
from studio.people.models import Invitation, Membership

INVITABLE = [role.value for role in workspace_services.INVITABLE_ROLES]


class MemberSerializer(serializers.Serializer):
    user = PersonSerializer()
    role = serializers.ChoiceField(choices=ROLES)
    joinedAt = serializers.DateTimeField(source="created_at")


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=INVITABLE, help_text="the owner's role cannot be given or changed")


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=ROLES)
    invitedBy = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    expiresAt = serializers.DateTimeField(source="expires_at")

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_invitedBy(self, invitation):
        return person(invitation.invited_by)


class IssuedInvitationSerializer(InvitationSerializer):
    url = serializers.URLField(help_text="the link to accept it; shown only now")
    mailed = serializers.BooleanField(help_text="whether it was also sent by mail")


class InviteSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=INVITABLE)


def _member(workspace, user_id: int) -> Membership:
    found = workspace.memberships.select_related("user").filter(user_id=user_id).first()
    if found is None:
        raise errors.not_found(f"user {user_id} is not a member of {workspace.name}")
    return found


class Members(ApiView):
    permissions = {"GET": "studio.view_workspace"}

    @operation(operation_id="listMembers", tags=["members"], parameters=PARAMETERS,
                   responses=page_schema("MemberPage", "members", MemberSerializer))
    def get(self, request, workspace):
        workspace = self.workspace(workspace)
        page = paginate(request, workspace.memberships.select_related("user"), [("created_at", False), ("pk", False)])
        return Response(page.data("members", lambda membership: MemberSerializer(membership).data))


class MemberDetail(ApiView):
    permissions = {"GET": "studio.view_workspace", "PATCH": "studio.manage_members",
                   "DELETE": "studio.manage_members"}

    @operation(operation_id="getMember", tags=["members"], responses=MemberSerializer)
    def get(self, request, workspace, user_id):
        return Response(MemberSerializer(_member(self.workspace(workspace), user_id)).data)

    @operation(operation_id="changeRole", tags=["members"], request=RoleSerializer, responses=MemberSerializer)
    def patch(self, request, workspace, user_id):
        workspace = self.workspace(workspace)
        membership = _member(workspace, user_id)
        data = validated(RoleSerializer, request.data)
        try:
            membership = workspace_services.change_role(workspace, membership, data["role"], actor=request.user)
        except workspace_services.WorkspaceError as exc:
            raise workspace_error(exc) from None
        return Response(MemberSerializer(membership).data)

    @operation(operation_id="removeMember", tags=["members"], responses={204: None},
                   description="The owner cannot be removed.")
    def delete(self, request, workspace, user_id):
        workspace = self.workspace(workspace)
        try:
            workspace_services.remove_member(workspace, _member(workspace, user_id), actor=request.user)
        except workspace_services.WorkspaceError as exc:
            raise errors.conflict(str(exc), code="not_removable") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class Invitations(ApiView):
    permissions = {"GET": "studio.manage_members", "POST": "studio.manage_members"}

    @operation(operation_id="listInvitations", tags=["members"], parameters=PARAMETERS,
                   responses=page_schema("InvitationPage", "invitations", InvitationSerializer),
                   description="Pending invitations (not accepted, not expired).")
    def get(self, request, workspace):
        workspace = self.workspace(workspace)
        pending = workspace.invitations.select_related("invited_by").filter(
            accepted_at__isnull=True, expires_at__gt=timezone.now())
        page = paginate(request, pending, [("created_at", True), ("pk", True)])
        return Response(page.data("invitations", lambda invitation: InvitationSerializer(invitation).data))

    @operation(operation_id="invite", tags=["members"], request=InviteSerializer,
                   responses={201: IssuedInvitationSerializer},
                   description="Invite an email address to a role. The answer holds the link to accept it "
                               "(shown once); it is mailed too when a mail server is configured.")
    def post(self, request, workspace):
        workspace = self.workspace(workspace)
        data = validated(InviteSerializer, request.data)
        base_url = request.build_absolute_uri("/").rstrip("/")
        try:
            issued = workspace_services.invite(workspace, data["email"], data["role"], invited_by=request.user,
                                               base_url=base_url)
        except workspace_services.WorkspaceError as exc:
            raise workspace_error(exc) from None
        body = {**InvitationSerializer(issued.invitation).data, "url": base_url + issued.path, "mailed": issued.mailed}
        return Response(body, status=status.HTTP_201_CREATED)


class InvitationDetail(ApiView):
    permissions = {"DELETE": "studio.manage_members"}

    @operation(operation_id="revokeInvitation", tags=["members"], responses={204: None})
    def delete(self, request, workspace, invitation_id):
        workspace = self.workspace(workspace)
        invitation = Invitation.objects.filter(workspace=workspace, pk=invitation_id, accepted_at__isnull=True).first()
        if invitation is None:
            raise errors.not_found(f"{workspace.name} has no pending invitation {invitation_id}")
        workspace_services.revoke_invitation(invitation, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
