"""What every studio page's frame needs: the current workspace, the switcher, the nav."""
from studio.permissions import role_allows, role_of, workspaces_for

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
        role = role_of(user, workspace)  # one membership read for the whole nav
        nav = {
            "role": role,
            "can_manage_members": role_allows(role, "studio.manage_members"),
            "can_view_audit": role_allows(role, "studio.view_audit"),
            "can_view_usage": role_allows(role, "studio.view_usage"),
            "can_change_workspace": role_allows(role, "studio.change_workspace"),
            "can_handle_conversations": role_allows(role, "studio.handle_conversations"),
        }
    return {"workspace": workspace, "my_workspaces": mine, "nav": nav}
