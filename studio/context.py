"""What every studio page's frame needs: the current workspace, the switcher, the nav."""
from studio.permissions import can, role_of, workspaces_for

SESSION_WORKSPACE = "studio.workspace"


def studio(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    mine = workspaces_for(user).order_by("name")
    # Workspace pages set request.workspace; account pages keep the last one in the frame.
    workspace = getattr(request, "workspace", None)
    if workspace is None and hasattr(request, "session"):
        slug = request.session.get(SESSION_WORKSPACE)
        workspace = mine.filter(slug=slug).first() if slug else None
    nav = {}
    if workspace is not None:
        nav = {
            "role": role_of(user, workspace),
            "can_manage_members": can(user, "studio.manage_members", workspace),
            "can_view_audit": can(user, "studio.view_audit", workspace),
            "can_change_workspace": can(user, "studio.change_workspace", workspace),
            "can_handle_conversations": can(user, "studio.handle_conversations", workspace),
        }
    return {"workspace": workspace, "my_workspaces": mine, "nav": nav}
