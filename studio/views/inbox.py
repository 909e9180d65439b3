"""The Inbox: conversations of the workspace's bots that the Escalate to a Human card handed to
people, for members holding `studio.handle_conversations` (docs/handoff.md).

The views stay thin: reading and every change go through runtime/handoff.py. The queue and
an open conversation refresh themselves with htmx polling (`hx-trigger="every 2s"`), which
needs no socket and survives a closed laptop lid: the transcript is read from the database
each time, so nothing the user said is ever missed.
"""
from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from runtime import handoff
from studio.people.models import Membership
from studio.permissions import can
from studio.templatetags.studio import avatar_src, person
from studio.views.access import workspace_page

PERM = "studio.handle_conversations"


def _bot_ids(workspace):
    return workspace.bots.values_list("pk", flat=True)


def _conversation(workspace, conversation_id):
    conversation = handoff.find(_bot_ids(workspace), conversation_id)
    if conversation is None:
        raise Http404("no such conversation")
    return conversation


@workspace_page(PERM)
def inbox(request, workspace):
    status = request.GET.get("status") or ""
    conversations = list(handoff.inbox(_bot_ids(workspace), status=status or None)[:200])
    context = {"conversations": conversations, "status": status,
               "waiting": sum(1 for c in conversations if c.handoff_status == "waiting")}
    template = "studio/_inbox_list.html" if request.htmx else "studio/inbox.html"
    return render(request, template, context)


def _agents(workspace):
    """Members who may take conversations, for "assign to"."""
    members = Membership.objects.filter(workspace=workspace).select_related("user", "user__profile")
    return [m.user for m in members if can(m.user, PERM, workspace)]


@workspace_page(PERM)
def conversation(request, workspace, conversation_id):
    conversation = _conversation(workspace, conversation_id)
    context = {"conversation": conversation, "transcript": _transcript(conversation),
               "mine": conversation.handoff_agent_id == request.user.pk}
    if request.htmx and request.GET.get("part") == "transcript":
        return render(request, "studio/_inbox_conversation.html", context)
    context["agents"] = _agents(workspace)
    return render(request, "studio/inbox_conversation.html", context)


def _transcript(conversation):
    rows = []
    for message in handoff.transcript(conversation):
        agent = handoff.is_agent_message(message)
        rows.append({
            "message": message,
            "who": ("agent" if agent else "bot") if message.direction == "outgoing" else "user",
            "name": message.metadata["agent"].get("name") if agent else "",
            "text": _text_of(message),
        })
    return rows


def _text_of(message) -> str:
    payload = message.payload or {}
    for key in ("text", "markdown", "title", "label", "value"):
        if isinstance(payload.get(key), str):
            return payload[key]
    return f"[{message.type}]"


def _back(workspace, conversation):
    return redirect(reverse("studio:inbox_conversation", args=[workspace.slug, conversation.pk]))


def _act(request, action):
    try:
        action()
    except handoff.HandoffError as exc:
        flash.error(request, str(exc))


@require_POST
@workspace_page(PERM)
def claim(request, workspace, conversation_id):
    conversation = _conversation(workspace, conversation_id)
    agent = request.user
    chosen = request.POST.get("agent")
    if chosen and chosen != str(request.user.pk):
        agent = next((u for u in _agents(workspace) if str(u.pk) == chosen), None)
        if agent is None:
            flash.error(request, "that member cannot take conversations")
            return _back(workspace, conversation)
    _act(request, lambda: handoff.assign(conversation, agent, reassign=bool(chosen)))
    return _back(workspace, conversation)


@require_POST
@workspace_page(PERM)
def reply(request, workspace, conversation_id):
    conversation = _conversation(workspace, conversation_id)
    text = request.POST.get("text", "")
    _act(request, lambda: handoff.send_agent_message(
        conversation, request.user, text, name=person(request.user),
        avatar_url=request.build_absolute_uri(avatar_src(request.user)) if avatar_src(request.user) else ""))
    return _back(workspace, conversation)


@require_POST
@workspace_page(PERM)
def hand_back(request, workspace, conversation_id):
    conversation = _conversation(workspace, conversation_id)
    _act(request, lambda: handoff.hand_back(conversation, request.user))
    return _back(workspace, conversation)


@require_POST
@workspace_page(PERM)
def end(request, workspace, conversation_id):
    conversation = _conversation(workspace, conversation_id)
    _act(request, lambda: handoff.end(conversation, request.user))
    return _back(workspace, conversation)
