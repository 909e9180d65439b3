"""How pages get their workspace or bot: always through studio.permissions.

`workspace_page(perm)` and `bot_page(perm)` log the user in if needed, then fetch the object
for the URL with `get_workspace_for` / `get_bot_for` (404 for other workspaces, 403 for a
member whose role lacks `perm`) and remember the workspace for the frame and for `/`.
"""
from functools import wraps

from django.contrib.auth.decorators import login_required

from studio.context import SESSION_WORKSPACE
from studio.permissions import get_bot_for, get_workspace_for


def _remember(request, workspace):
    request.workspace = workspace
    if request.session.get(SESSION_WORKSPACE) != workspace.slug:
        request.session[SESSION_WORKSPACE] = workspace.slug


def workspace_page(perm="studio.view_workspace"):
    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            workspace = get_workspace_for(request.user, slug, perm)
            _remember(request, workspace)
            return view(request, workspace, *args, **kwargs)

        return wrapper

    return decorate


def bot_page(perm="flows.view_bot"):
    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, bot_id, *args, **kwargs):
            bot = get_bot_for(request.user, bot_id, perm)
            _remember(request, bot.workspace)
            return view(request, bot, *args, **kwargs)

        return wrapper

    return decorate


def base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")
