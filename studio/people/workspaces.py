"""Workspace services: create, rename, delete, invitations and members.

Who may call what is decided before, through `studio.permissions` (views and the API fetch
the workspace with the needed permission). These functions enforce the rules that hold
whoever calls: one owner per workspace, ownership is not transferable, invitations expire.
Each change records an audit entry in the same transaction.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from studio.people import audit
from studio.people.models import Invitation, Membership, Role, Workspace

INVITABLE_ROLES = [r for r in Role if r != Role.OWNER]


class WorkspaceError(ValueError):
    """A request that breaks a workspace rule; the message says which and is shown to the user."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise WorkspaceError("name: a workspace needs a name", field="name")
    if len(name) > 100:
        raise WorkspaceError("name: at most 100 characters", field="name")
    return name


def _unique_slug(name: str) -> str:
    base = slugify(name)[:48] or "workspace"
    if base.isdigit():  # all-digit slugs would read as primary keys in get_workspace_for
        base = f"w-{base}"
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_workspace(user, name: str) -> Workspace:
    """A new workspace; its creator is its owner (for good)."""
    name = _clean_name(name)
    with transaction.atomic():
        workspace = Workspace.objects.create(name=name, slug=_unique_slug(name), created_by=user)
        Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
        audit.record(actor=user, workspace=workspace, action="workspace.create", target=workspace)
    return workspace


def create_default_workspace(user) -> Workspace:
    """The workspace every new account starts with (Botpress: "a default Workspace will be
    automatically created for you")."""
    label = (user.first_name or user.email.split("@")[0] or user.get_username()).strip()
    return create_workspace(user, f"{label}'s workspace"[:100])


def rename_workspace(workspace: Workspace, name: str, *, actor) -> Workspace:
    name = _clean_name(name)
    if name == workspace.name:
        return workspace
    with transaction.atomic():
        old = workspace.name
        workspace.name = name
        workspace.save(update_fields=["name"])
        audit.record(
            actor=actor, workspace=workspace, action="workspace.rename", target=workspace,
            details={"from": old, "to": name},
        )
    return workspace


def delete_workspace(workspace: Workspace, *, actor, confirm_name: str) -> None:
    """Delete the workspace and everything in it (bots, versions, conversations, members,
    invitations, its audit log). `confirm_name` must repeat the workspace's name exactly."""
    if (confirm_name or "").strip() != workspace.name:
        raise WorkspaceError(
            f"confirm_name: type the workspace's name ({workspace.name}) to confirm", field="confirm_name"
        )
    with transaction.atomic():
        details = {"name": workspace.name, "slug": workspace.slug, "bots": workspace.bots.count()}
        # Recorded outside any workspace (and before the delete, while the target still has
        # its id) so the entry survives and the instance admin can see who deleted what.
        audit.record(actor=actor, workspace=None, action="workspace.delete", target=workspace, details=details)
        workspace.delete()


# -- invitations ------------------------------------------------------------------------

def invitation_days() -> int:
    return getattr(settings, "FLOWSTUDIO_INVITATION_DAYS", 7)


def _invitation_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class IssuedInvitation:
    invitation: Invitation
    raw_token: str  # goes into the link; never stored
    mailed: bool = False

    @property
    def path(self) -> str:
        from django.urls import reverse

        return reverse("studio:accept_invitation", args=[self.raw_token])


def _member_with_email(workspace: Workspace, email: str) -> Membership | None:
    return workspace.memberships.filter(user__email__iexact=email).select_related("user").first()


def _clean_role(role, *, field="role") -> Role:
    try:
        role = Role(role)
    except ValueError:
        raise WorkspaceError(f"{field}: unknown role {role!r}", field=field) from None
    if role == Role.OWNER:
        raise WorkspaceError(
            f"{field}: a workspace has one owner, its creator; ownership cannot be given", field=field
        )
    return role


def _mail_invitation(issued: IssuedInvitation, *, base_url: str | None) -> bool:
    # No mail server is assumed: the link is always shown in the UI; mail goes out only when
    # EMAIL_HOST is configured.
    if not getattr(settings, "EMAIL_HOST_CONFIGURED", False):
        return False
    inv = issued.invitation
    link = (base_url or settings.PUBLIC_URL).rstrip("/") + issued.path
    send_mail(
        subject=f"You are invited to {inv.workspace.name} on Flowstudio",
        message=(
            f"{inv.invited_by.email if inv.invited_by else 'Someone'} invited you to the workspace "
            f"{inv.workspace.name} as {Role(inv.role).label}.\n\nAccept: {link}\n\n"
            f"The link expires on {inv.expires_at:%Y-%m-%d %H:%M} UTC."
        ),
        from_email=None,
        recipient_list=[inv.email],
        fail_silently=True,
    )
    return True


def invite(workspace: Workspace, email: str, role, *, invited_by, base_url: str | None = None) -> IssuedInvitation:
    """Invite an email address to a role. A pending invitation of the same address is replaced."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise WorkspaceError(f"email: {email or '(empty)'} is not an email address", field="email") from None
    role = _clean_role(role)
    if _member_with_email(workspace, email):
        raise WorkspaceError(f"email: {email} is already a member of {workspace.name}", field="email")
    raw, token_hash = _invitation_token()
    with transaction.atomic():
        workspace.invitations.filter(email__iexact=email, accepted_at__isnull=True).delete()
        invitation = Invitation.objects.create(
            workspace=workspace, email=email, role=role, token_hash=token_hash, invited_by=invited_by,
            expires_at=timezone.now() + timedelta(days=invitation_days()),
        )
        audit.record(
            actor=invited_by, workspace=workspace, action="member.invite", target=invitation,
            details={"email": email, "role": role.value},
        )
    issued = IssuedInvitation(invitation, raw)
    issued.mailed = _mail_invitation(issued, base_url=base_url)
    return issued


def renew_invitation(invitation: Invitation, *, actor, base_url: str | None = None) -> IssuedInvitation:
    """A new link (and a new expiry) for a pending invitation; the old link stops working."""
    if invitation.accepted_at:
        raise WorkspaceError("this invitation was already accepted")
    raw, token_hash = _invitation_token()
    with transaction.atomic():
        invitation.token_hash = token_hash
        invitation.expires_at = timezone.now() + timedelta(days=invitation_days())
        invitation.save(update_fields=["token_hash", "expires_at"])
        audit.record(
            actor=actor, workspace=invitation.workspace, action="member.invitation_renew", target=invitation,
            details={"email": invitation.email, "role": invitation.role},
        )
    issued = IssuedInvitation(invitation, raw)
    issued.mailed = _mail_invitation(issued, base_url=base_url)
    return issued


def revoke_invitation(invitation: Invitation, *, actor) -> None:
    with transaction.atomic():
        audit.record(
            actor=actor, workspace=invitation.workspace, action="member.invitation_revoke", target=invitation,
            details={"email": invitation.email, "role": invitation.role},
        )
        invitation.delete()


def find_invitation(raw_token: str) -> Invitation | None:
    """The invitation a link's token names (pending, expired or accepted), or None."""
    if not raw_token:
        return None
    token_hash = hashlib.sha256(raw_token.encode()).hexdigest()
    return Invitation.objects.select_related("workspace", "invited_by").filter(token_hash=token_hash).first()


def accept_invitation(raw_token: str, user) -> Membership:
    """Join the invitation's workspace in its role. The user's email must be the invited one."""
    with transaction.atomic():
        invitation = find_invitation(raw_token)
        if invitation is None:
            raise WorkspaceError("this invitation link is not valid (it may have been revoked or renewed)")
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at:
            raise WorkspaceError("this invitation was already accepted")
        if invitation.is_expired:
            raise WorkspaceError("this invitation has expired; ask for a new link")
        if (user.email or "").lower() != invitation.email.lower():
            raise WorkspaceError(
                f"this invitation is for {invitation.email}, but you are signed in as {user.email}"
            )
        workspace = invitation.workspace
        if workspace.memberships.filter(user=user).exists():
            raise WorkspaceError(f"you are already a member of {workspace.name}")
        membership = Membership.objects.create(workspace=workspace, user=user, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        audit.record(
            actor=user, workspace=workspace, action="member.join", target=membership,
            details={"email": user.email, "role": invitation.role},
        )
    return membership


# -- members ----------------------------------------------------------------------------

def _membership(workspace: Workspace, membership_or_user) -> Membership:
    if isinstance(membership_or_user, Membership):
        if membership_or_user.workspace_id != workspace.pk:
            raise WorkspaceError("that person is not a member of this workspace")
        return membership_or_user
    membership = workspace.memberships.filter(user=membership_or_user).first()
    if membership is None:
        raise WorkspaceError("that person is not a member of this workspace")
    return membership


def change_role(workspace: Workspace, member, role, *, actor) -> Membership:
    """Give a member another role. The owner keeps being the owner."""
    membership = _membership(workspace, member)
    role = _clean_role(role)
    if membership.role == Role.OWNER:
        raise WorkspaceError("role: the owner's role cannot be changed", field="role")
    if membership.role == role:
        return membership
    with transaction.atomic():
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit.record(
            actor=actor, workspace=workspace, action="member.role_change", target=membership,
            details={"email": membership.user.email, "from": old, "to": role.value},
        )
    return membership


def remove_member(workspace: Workspace, member, *, actor) -> None:
    """Take a member out of the workspace (or let them leave). The owner cannot be removed."""
    membership = _membership(workspace, member)
    if membership.role == Role.OWNER:
        raise WorkspaceError("the owner cannot be removed from their workspace")
    with transaction.atomic():
        leaving = actor is not None and actor.pk == membership.user_id
        audit.record(
            actor=actor, workspace=workspace, action="member.leave" if leaving else "member.remove",
            target=membership, details={"email": membership.user.email, "role": membership.role},
        )
        membership.delete()


def get_user_by_email(email: str):
    return get_user_model().objects.filter(email__iexact=(email or "").strip()).first()


def workspaces_for(user) -> QuerySet[Workspace]:
    """The workspaces the user is a member of."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user_id=user.pk)
