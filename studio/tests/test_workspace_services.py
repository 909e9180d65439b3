"""Workspace services: the rules that hold whoever calls them, and their audit entries."""
from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from flows.models import Bot
from studio.people import workspaces as ws
from studio.people.models import AuditEntry, Invitation, Membership, Role, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("ann@example.com", "ann@example.com", "pw")


@pytest.fixture
def workspace(owner):
    return ws.create_workspace(owner, "Acme Support")


def actions(workspace):
    return list(AuditEntry.objects.filter(workspace=workspace).order_by("id").values_list("action", flat=True))


def test_create_makes_the_creator_owner(owner, workspace):
    assert workspace.slug == "acme-support"
    assert workspace.created_by == owner
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER
    assert actions(workspace) == ["workspace.create"]
    assert ws.create_workspace(owner, "Acme Support").slug == "acme-support-2"


def test_names_are_checked(owner):
    with pytest.raises(ws.WorkspaceError, match="name: a workspace needs a name"):
        ws.create_workspace(owner, "   ")
    with pytest.raises(ws.WorkspaceError, match="at most 100"):
        ws.create_workspace(owner, "x" * 101)
    assert Workspace.objects.count() == 0


def test_rename_is_audited(owner, workspace):
    ws.rename_workspace(workspace, "Acme Sales", actor=owner)
    workspace.refresh_from_db()
    assert workspace.name == "Acme Sales"
    entry = AuditEntry.objects.get(action="workspace.rename")
    assert entry.details == {"from": "Acme Support", "to": "Acme Sales"}
    assert entry.actor == owner


def test_delete_needs_the_name_and_removes_everything(owner, workspace):
    Bot.objects.create(workspace=workspace, name="Helper", created_by=owner)
    with pytest.raises(ws.WorkspaceError, match="type the workspace's name"):
        ws.delete_workspace(workspace, actor=owner, confirm_name="acme support")
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    pk = workspace.pk
    ws.delete_workspace(workspace, actor=owner, confirm_name="Acme Support")
    assert not Workspace.objects.filter(pk=pk).exists()
    assert not Bot.objects.exists() and not Membership.objects.exists()
    entry = AuditEntry.objects.get()  # the workspace's own log went with it; this one stays
    assert (entry.action, entry.workspace, entry.target_id, entry.details["bots"]) == ("workspace.delete", None, str(pk), 1)


def test_invite_and_accept(owner, workspace, django_user_model):
    issued = ws.invite(workspace, "bob@example.com", Role.DEVELOPER, invited_by=owner)
    inv = issued.invitation
    assert inv.token_hash != issued.raw_token and issued.raw_token not in inv.token_hash
    assert issued.path.endswith(issued.raw_token + "/")
    assert inv.expires_at - timezone.now() > timedelta(days=6)
    assert not mail.outbox  # no mail server configured: the link is shown in the UI only
    bob = django_user_model.objects.create_user("bob@example.com", "Bob@Example.com", "pw")
    membership = ws.accept_invitation(issued.raw_token, bob)
    assert membership.role == Role.DEVELOPER
    inv.refresh_from_db()
    assert inv.accepted_at is not None
    with pytest.raises(ws.WorkspaceError, match="already accepted"):
        ws.accept_invitation(issued.raw_token, bob)
    assert actions(workspace) == ["workspace.create", "member.invite", "member.join"]


def test_invitation_is_mailed_when_mail_is_configured(owner, workspace, settings):
    settings.EMAIL_HOST_CONFIGURED = True
    issued = ws.invite(workspace, "bob@example.com", Role.VIEWER, invited_by=owner, base_url="http://studio.test")
    assert issued.mailed
    (message,) = mail.outbox
    assert message.to == ["bob@example.com"]
    assert f"http://studio.test/invitations/{issued.raw_token}/" in message.body


@pytest.mark.parametrize(
    "email,role,message",
    [
        ("not-an-email", Role.VIEWER, "email: not-an-email is not an email address"),
        ("ann@example.com", Role.VIEWER, "email: ann@example.com is already a member"),
        ("c@example.com", Role.OWNER, "role: a workspace has one owner"),
        ("c@example.com", "superhero", "role: unknown role 'superhero'"),
    ],
)
def test_invite_refusals(owner, workspace, email, role, message):
    with pytest.raises(ws.WorkspaceError, match=message):
        ws.invite(workspace, email, role, invited_by=owner)
    assert not Invitation.objects.exists()


def test_accept_refusals(owner, workspace, django_user_model):
    issued = ws.invite(workspace, "bob@example.com", Role.VIEWER, invited_by=owner)
    eve = django_user_model.objects.create_user("eve@example.com", "eve@example.com", "pw")
    with pytest.raises(ws.WorkspaceError, match="is for bob@example.com, but you are signed in as eve@example.com"):
        ws.accept_invitation(issued.raw_token, eve)
    with pytest.raises(ws.WorkspaceError, match="not valid"):
        ws.accept_invitation("made-up", eve)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    bob = django_user_model.objects.create_user("bob@example.com", "bob@example.com", "pw")
    with pytest.raises(ws.WorkspaceError, match="expired"):
        ws.accept_invitation(issued.raw_token, bob)
    assert Membership.objects.filter(workspace=workspace).count() == 1


def test_renew_replaces_the_link_and_reinvite_replaces_the_invitation(owner, workspace):
    first = ws.invite(workspace, "bob@example.com", Role.VIEWER, invited_by=owner)
    renewed = ws.renew_invitation(first.invitation, actor=owner)
    assert ws.find_invitation(first.raw_token) is None
    assert ws.find_invitation(renewed.raw_token) == first.invitation
    again = ws.invite(workspace, "BOB@example.com", Role.MANAGER, invited_by=owner)
    assert list(Invitation.objects.all()) == [again.invitation]
    ws.revoke_invitation(again.invitation, actor=owner)
    assert not Invitation.objects.exists()
    assert actions(workspace)[-1] == "member.invitation_revoke"


def test_owner_cannot_be_demoted_or_removed(owner, workspace, django_user_model):
    with pytest.raises(ws.WorkspaceError, match="owner's role cannot be changed"):
        ws.change_role(workspace, owner, Role.VIEWER, actor=owner)
    with pytest.raises(ws.WorkspaceError, match="owner cannot be removed"):
        ws.remove_member(workspace, owner, actor=owner)
    bob = django_user_model.objects.create_user("bob@example.com", "bob@example.com", "pw")
    Membership.objects.create(workspace=workspace, user=bob, role=Role.ADMINISTRATOR)
    with pytest.raises(ws.WorkspaceError, match="ownership cannot be given"):
        ws.change_role(workspace, bob, Role.OWNER, actor=owner)
    # The database agrees: one owner per workspace.
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(user=bob).update(role=Role.OWNER)


def test_change_role_and_remove(owner, workspace, django_user_model):
    bob = django_user_model.objects.create_user("bob@example.com", "bob@example.com", "pw")
    Membership.objects.create(workspace=workspace, user=bob, role=Role.VIEWER)
    ws.change_role(workspace, bob, Role.MANAGER, actor=owner)
    assert Membership.objects.get(user=bob).role == Role.MANAGER
    entry = AuditEntry.objects.get(action="member.role_change")
    assert entry.details == {"email": "bob@example.com", "from": "viewer", "to": "manager"}
    ws.remove_member(workspace, bob, actor=owner)
    assert not Membership.objects.filter(user=bob).exists()
    assert actions(workspace)[-1] == "member.remove"
    with pytest.raises(ws.WorkspaceError, match="not a member"):
        ws.change_role(workspace, bob, Role.VIEWER, actor=owner)


def test_numeric_names_get_slugs_that_cannot_pass_for_ids(owner):
    from studio.permissions import get_workspace_for

    numeric = ws.create_workspace(owner, "2024")
    assert numeric.slug == "w-2024"
    assert get_workspace_for(owner, "w-2024") == numeric
    assert get_workspace_for(owner, str(numeric.pk)) == numeric
