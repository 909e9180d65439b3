"""Members: list, invite, change role, remove, leave; pending invitations; accepting one."""
from django.contrib import auth, messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from studio import accounts
from studio.people import workspaces
from studio.forms import InviteForm, RoleForm, SignUpForm
from studio.people.models import Invitation, Membership, Role
from studio.permissions import can
from studio.views.access import base_url, workspace_page


def _members_context(request, workspace, *, invite_form=None, issued=None):
    memberships = workspace.memberships.select_related("user", "user__profile").order_by("created_at")
    can_manage = can(request.user, "studio.manage_members", workspace)
    return {
        "memberships": memberships,
        "can_manage": can_manage,
        "invitations": workspace.invitations.filter(accepted_at__isnull=True).select_related("invited_by") if can_manage else [],
        "invite_form": invite_form or InviteForm(),
        "issued": issued,
        "roles": workspaces.INVITABLE_ROLES,
        "Role": Role,
    }


@workspace_page()
def members(request, workspace):
    return render(request, "studio/members.html", _members_context(request, workspace))


def _render_invitations(request, workspace, **kwargs):
    template = "studio/_invitations.html" if request.htmx else "studio/members.html"
    status = 400 if kwargs.get("invite_form") is not None and kwargs["invite_form"].errors else 200
    return render(request, template, _members_context(request, workspace, **kwargs), status=status)


@require_POST
@workspace_page("studio.manage_members")
def invite(request, workspace):
    form = InviteForm(request.POST)
    issued = None
    if form.is_valid():
        try:
            issued = workspaces.invite(
                workspace, form.cleaned_data["email"], form.cleaned_data["role"],
                invited_by=request.user, base_url=base_url(request),
            )
        except workspaces.WorkspaceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc).split(": ", 1)[-1])
        else:
            form = InviteForm()
    return _render_invitations(request, workspace, invite_form=form, issued=issued)


def _invitation(workspace, pk) -> Invitation:
    return get_object_or_404(Invitation, pk=pk, workspace=workspace, accepted_at__isnull=True)


@require_POST
@workspace_page("studio.manage_members")
def renew_invitation(request, workspace, pk):
    issued = workspaces.renew_invitation(_invitation(workspace, pk), actor=request.user, base_url=base_url(request))
    return _render_invitations(request, workspace, issued=issued)


@require_POST
@workspace_page("studio.manage_members")
def revoke_invitation(request, workspace, pk):
    workspaces.revoke_invitation(_invitation(workspace, pk), actor=request.user)
    return _render_invitations(request, workspace)


def _membership(workspace, pk) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), pk=pk, workspace=workspace)


@require_POST
@workspace_page("studio.manage_members")
def change_role(request, workspace, pk):
    membership = _membership(workspace, pk)
    form = RoleForm(request.POST)
    error = None
    if not form.is_valid():
        error = "role: choose one of " + ", ".join(r.label for r in workspaces.INVITABLE_ROLES)
    else:
        try:
            workspaces.change_role(workspace, membership, form.cleaned_data["role"], actor=request.user)
        except workspaces.WorkspaceError as exc:
            error = str(exc)
    if request.htmx:
        context = {**_members_context(request, workspace), "m": membership, "row_error": error, "saved": not error}
        return render(request, "studio/_member_row.html", context, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{membership.user.email} is now {Role(membership.role).label}.")
    return redirect("studio:members", slug=workspace.slug)


@require_POST
@workspace_page("studio.manage_members")
def remove(request, workspace, pk):
    membership = _membership(workspace, pk)
    try:
        workspaces.remove_member(workspace, membership, actor=request.user)
    except workspaces.WorkspaceError as exc:
        messages.error(request, str(exc))
        return redirect("studio:members", slug=workspace.slug)
    if membership.user_id == request.user.pk:
        return redirect("studio:home")
    if request.htmx:
        return HttpResponse("")
    messages.success(request, f"{membership.user.email} was removed from {workspace.name}.")
    return redirect("studio:members", slug=workspace.slug)


@require_POST
@workspace_page()
def leave(request, workspace):
    try:
        workspaces.remove_member(workspace, request.user, actor=request.user)
    except workspaces.WorkspaceError as exc:
        messages.error(request, str(exc))
        return redirect("studio:members", slug=workspace.slug)
    messages.success(request, f"You left {workspace.name}.")
    return redirect("studio:home")


def accept_invitation(request, token):
    """The invitation link: shows what it is for; a signed-in user accepts it, a new person
    signs up with the invited address (and gets no default workspace: they join this one)."""
    invitation = workspaces.find_invitation(token)
    context = {"invitation": invitation, "token": token}
    if invitation is None or invitation.accepted_at or invitation.is_expired:
        return render(request, "studio/invitation.html", context, status=404 if invitation is None else 410)
    user = request.user
    if user.is_authenticated:
        context["email_matches"] = (user.email or "").lower() == invitation.email.lower()
        if request.method == "POST":
            try:
                workspaces.accept_invitation(token, user)
            except workspaces.WorkspaceError as exc:
                context["error"] = str(exc)
                return render(request, "studio/invitation.html", context, status=400)
            messages.success(request, f"Welcome to {invitation.workspace.name}.")
            return redirect("studio:bots", slug=invitation.workspace.slug)
        return render(request, "studio/invitation.html", context)
    existing = workspaces.get_user_by_email(invitation.email)
    context["has_account"] = existing is not None
    form = SignUpForm(request.POST or None, initial={"email": invitation.email})
    form.fields["email"].widget.attrs["readonly"] = True
    if request.method == "POST" and existing is None and form.is_valid():
        if form.cleaned_data["email"].lower() != invitation.email.lower():
            form.add_error("email", f"this invitation is for {invitation.email}")
        else:
            try:
                with transaction.atomic():  # no account without its membership
                    new_user = accounts.sign_up(
                        invitation.email, form.cleaned_data["password"], name=form.cleaned_data["name"],
                        with_workspace=False,
                    )
                    workspaces.accept_invitation(token, new_user)
            except accounts.AccountError as exc:
                form.add_error(exc.field, exc.message)
            except workspaces.WorkspaceError as exc:
                form.add_error(None, str(exc))
            else:
                auth.login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome to {invitation.workspace.name}.")
                return redirect("studio:bots", slug=invitation.workspace.slug)
    context["form"] = form
    return render(request, "studio/invitation.html", context, status=400 if form.errors else 200)
