"""`/`, creating a workspace, its settings (rename, delete)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from studio.people import workspaces
from studio.forms import DeleteWorkspaceForm, WorkspaceNameForm
from studio.permissions import can, workspaces_for
from studio.views.access import SESSION_WORKSPACE, workspace_page


def home(request):
    """The last workspace the user worked in, else their first one, else a page to make one."""
    if not request.user.is_authenticated:
        return redirect("studio:login")
    mine = workspaces_for(request.user)
    workspace = mine.filter(slug=request.session.get(SESSION_WORKSPACE)).first() or mine.order_by("name").first()
    if workspace is None:
        return redirect("studio:new_workspace")
    return redirect("studio:bots", slug=workspace.slug)


@login_required
def new_workspace(request):
    form = WorkspaceNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = workspaces.create_workspace(request.user, form.cleaned_data["name"])
        except workspaces.WorkspaceError as exc:
            form.add_error(exc.field, str(exc))
        else:
            messages.success(request, f"Workspace {workspace.name} created. You are its owner.")
            return redirect("studio:bots", slug=workspace.slug)
    return render(request, "studio/workspace_new.html", {"form": form})


@workspace_page("studio.change_workspace")
def settings_page(request, workspace):
    return render(request, "studio/settings.html", _settings_context(request, workspace))


def _settings_context(request, workspace, *, name_form=None, delete_form=None):
    return {
        "name_form": name_form or WorkspaceNameForm(initial={"name": workspace.name}),
        "delete_form": delete_form or DeleteWorkspaceForm(),
        "can_delete": can(request.user, "studio.delete_workspace", workspace),
        "counts": {"bots": workspace.bots.count(), "members": workspace.memberships.count()},
    }


@require_POST
@workspace_page("studio.change_workspace")
def rename(request, workspace):
    form = WorkspaceNameForm(request.POST)
    if form.is_valid():
        try:
            workspaces.rename_workspace(workspace, form.cleaned_data["name"], actor=request.user)
        except workspaces.WorkspaceError as exc:
            form.add_error(exc.field, str(exc))
        else:
            messages.success(request, f"Workspace renamed to {workspace.name}.")
            return redirect("studio:settings", slug=workspace.slug)
    return render(request, "studio/settings.html", _settings_context(request, workspace, name_form=form), status=400)


@require_POST
@workspace_page("studio.delete_workspace")
def delete(request, workspace):
    form = DeleteWorkspaceForm(request.POST)
    form.is_valid()
    name = workspace.name
    try:
        workspaces.delete_workspace(workspace, actor=request.user, confirm_name=form.cleaned_data.get("confirm_name", ""))
    except workspaces.WorkspaceError as exc:
        form.add_error("confirm_name", str(exc).removeprefix("confirm_name: "))
        return render(request, "studio/settings.html", _settings_context(request, workspace, delete_form=form), status=400)
    request.session.pop(SESSION_WORKSPACE, None)
    messages.success(request, f"Workspace {name} and everything in it was deleted.")
    return redirect("studio:home")
