"""Who may do what: the one permission layer for pages, the REST API and websockets.

Every permission is a `rules` predicate over the user's role in the object's workspace
(docs/workspaces.md has the table). Callers do not test roles themselves; they fetch objects
through `get_workspace_for` / `get_bot_for`, which hide objects of other workspaces behind a
404 and refuse a member who lacks the permission with PermissionDenied, or they ask
`can(user, perm, obj)`.

Superusers get no special rights here: studio access comes from membership only (the Django
admin stays available to them).
"""
from __future__ import annotations

import uuid

import rules
from django.core.exceptions import PermissionDenied
from django.http import Http404

from studio.people.models import Membership, Role, Workspace
from studio.people.workspaces import workspaces_for  # noqa: F401  (studio pages ask the permission layer)

ALL_ROLES = tuple(Role)
# Roles that may touch bot content (create, edit, publish).
BOT_EDITORS = (Role.OWNER, Role.ADMINISTRATOR, Role.MANAGER, Role.DEVELOPER)
# Roles that may read bot content: everyone but the billing manager.
BOT_READERS = (*BOT_EDITORS, Role.VIEWER)

# The whole policy as data: permission -> roles that hold it unconditionally. `flows.delete_bot`
# is also granted to a developer on a bot they created (see `_created_the_bot`).
ROLE_PERMISSIONS: dict[str, tuple[Role, ...]] = {
    "studio.view_workspace": ALL_ROLES,
    "studio.change_workspace": (Role.OWNER, Role.ADMINISTRATOR, Role.BILLING_MANAGER),
    "studio.delete_workspace": (Role.OWNER,),
    "studio.manage_members": (Role.OWNER, Role.ADMINISTRATOR),
    "studio.view_audit": (Role.OWNER, Role.ADMINISTRATOR, Role.MANAGER),
    "studio.view_usage": (Role.OWNER, Role.ADMINISTRATOR, Role.BILLING_MANAGER),
    # LLM providers hold an API key the workspace pays for: only those who run the workspace.
    "studio.manage_llm_providers": (Role.OWNER, Role.ADMINISTRATOR),
    # The Inbox: take escalated conversations of the workspace's bots and answer as a person
    # (docs/handoff.md). Those who build the bots; a viewer reads transcripts but never speaks.
    "studio.handle_conversations": BOT_EDITORS,
    "flows.add_bot": BOT_EDITORS,
    "flows.view_bot": BOT_READERS,
    "flows.change_bot": BOT_EDITORS,
    "flows.publish_bot": BOT_EDITORS,
    "flows.delete_bot": (Role.OWNER, Role.ADMINISTRATOR, Role.MANAGER),
    "flows.view_conversations": BOT_READERS,
    "flows.change_config": BOT_EDITORS,
}
WORKSPACE_PERMISSIONS = tuple(p for p in ROLE_PERMISSIONS if p.startswith("studio.")) + ("flows.add_bot",)
BOT_PERMISSIONS = tuple(p for p in ROLE_PERMISSIONS if p.startswith("flows.") and p != "flows.add_bot")


def role_of(user, workspace: Workspace | None) -> Role | None:
    """The user's role in the workspace, or None for a non-member or anonymous user."""
    if workspace is None or user is None or not user.is_authenticated or not user.is_active:
        return None
    role = (
        Membership.objects.filter(workspace_id=workspace.pk, user_id=user.pk).values_list("role", flat=True).first()
    )
    return Role(role) if role else None


def _workspace_of(obj) -> Workspace | None:
    if isinstance(obj, Workspace):
        return obj
    return getattr(obj, "workspace", None)


def _has_role(*roles: Role):
    @rules.predicate
    def predicate(user, obj) -> bool:
        return role_of(user, _workspace_of(obj)) in roles

    return predicate


@rules.predicate
def _created_the_bot(user, bot) -> bool:
    return bot is not None and user.is_authenticated and bot.created_by_id == user.pk


def _register():
    for perm, roles in ROLE_PERMISSIONS.items():
        predicate = _has_role(*roles)
        if perm == "flows.delete_bot":
            predicate = predicate | (_has_role(Role.DEVELOPER) & _created_the_bot)
        rules.set_perm(perm, predicate)


_register()


def can(user, perm: str, obj) -> bool:
    """Whether the user holds `perm` on `obj` (a Workspace or a flows.Bot)."""
    if perm not in ROLE_PERMISSIONS:
        raise KeyError(f"unknown permission {perm!r}")
    return rules.has_perm(perm, user, obj)


def role_allows(role: Role | None, perm: str) -> bool:
    """Whether `role` holds `perm` unconditionally: for a caller that has read the role once
    and asks about several permissions (each `can` reads the membership again). The
    conditional grants (`_created_the_bot`) need `can`."""
    if perm not in ROLE_PERMISSIONS:
        raise KeyError(f"unknown permission {perm!r}")
    return role in ROLE_PERMISSIONS[perm]


def _check(user, perm: str, obj):
    role = role_of(user, _workspace_of(obj))
    if role is None:
        raise Http404("not found")
    if not (role_allows(role, perm) or can(user, perm, obj)):
        raise PermissionDenied(f"your role does not allow {perm}")
    return obj


def get_workspace_for(user, slug_or_pk, perm: str = "studio.view_workspace") -> Workspace:
    """The workspace by slug or primary key, if the user is a member and holds `perm`.

    Raises Http404 when it does not exist or the user is not a member (so ids of other
    workspaces cannot be probed), PermissionDenied when a member lacks the permission.
    """
    if isinstance(slug_or_pk, int):
        workspace = Workspace.objects.filter(pk=slug_or_pk).first()
    else:
        # A slug wins over a primary key spelled the same way; slugs are never all digits anyway.
        text = str(slug_or_pk)
        workspace = Workspace.objects.filter(slug=text).first()
        if workspace is None and text.isascii() and text.isdigit():  # "³".isdigit() is True
            workspace = Workspace.objects.filter(pk=int(text)).first()
    if workspace is None:
        raise Http404("no such workspace")
    return _check(user, perm, workspace)


def get_bot_for(user, bot_id, perm: str = "flows.view_bot"):
    """The bot by id, if the user is a member of its workspace and holds `perm` on it.

    Raises Http404 for a malformed or unknown id and for bots of other workspaces,
    PermissionDenied when a member lacks the permission.
    """
    from flows.models import Bot

    try:
        bot_uuid = bot_id if isinstance(bot_id, uuid.UUID) else uuid.UUID(str(bot_id))
    except ValueError:
        raise Http404("no such bot") from None
    bot = Bot.objects.select_related("workspace").filter(pk=bot_uuid).first()
    if bot is None:
        raise Http404("no such bot")
    return _check(user, perm, bot)


def can_on_bots_in(user, perm: str, workspace: Workspace) -> bool:
    """Whether the user holds a bot permission on the workspace's bots in general (on a bot
    they did not create), e.g. to decide whether a bots list is shown at all."""
    from flows.models import Bot

    if perm not in BOT_PERMISSIONS:
        raise KeyError(f"{perm!r} is not a bot permission")
    return can(user, perm, Bot(workspace=workspace, created_by=None))
