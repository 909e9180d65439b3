"""The API's permission check: `rules`, through `studio.permissions`, never role tests here.

Each view names the permission every HTTP method needs (`permissions = {"GET": ..., ...}`).
Objects are fetched with `workspace_for` / `bot_for`, which answer 404 to anyone who is not
a member of the object's workspace (ids of other workspaces cannot be probed); then
`RulesPermission` asks `rules` whether this member's role allows the method (403 if not).
"""
from __future__ import annotations

import re

from django.http import Http404
from rest_framework.permissions import BasePermission

from studio import permissions as studio_permissions

# Held by every member of a workspace: used to tell members (403 when they lack the real
# permission) from everyone else (404).
MEMBERSHIP = "studio.view_workspace"
SLUG_OR_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class RulesPermission(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj) -> bool:
        perm = view.permission_for(request.method)
        return perm is None or studio_permissions.can(request.user, perm, obj)

    @property
    def message(self):
        return "your role in this workspace does not allow this"


def workspace_for(view, slug_or_pk):
    """The workspace if the user is a member (else 404) and may do this method on it (else 403)."""
    if not SLUG_OR_ID.fullmatch(str(slug_or_pk)):
        # Not a slug nor an id (e.g. "³", which str.isdigit() accepts but int() refuses).
        raise Http404("no such workspace")
    workspace = studio_permissions.get_workspace_for(view.request.user, slug_or_pk, perm=MEMBERSHIP)
    view.check_object_permissions(view.request, workspace)
    return workspace


def bot_for(view, bot_id):
    """The bot if the user is a member of its workspace (else 404) and may do this method (else 403)."""
    bot = studio_permissions.get_bot_for(view.request.user, bot_id, perm=MEMBERSHIP)
    view.check_object_permissions(view.request, bot)
    return bot
