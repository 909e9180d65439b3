"""A populated workspace for the REST API tests: one member per role, an outsider who owns
another workspace, a published bot with conversations, messages, users, states and config."""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from flows import knowledge, services
from flows.tables import service as table_service
from integrations.llm.mcp_tools import save_mcp_server
from integrations.llm.services import save_provider
from runtime import state as states
from runtime import turns
from runtime.models import WorkflowRun, WorkflowStep
from studio.people import tokens
from studio.people import workspaces as workspace_services
from studio.people.models import Membership, Role

ROLES = [role.value for role in Role]

BOT_FILE = {
    "format": "flowstudio.bot/1",
    "name": "Support",
    "description": "Answers questions",
    "variables": [{"scope": "user", "name": "plan", "type": "string"}],
    "config": [{"name": "API_KEY", "description": "the CRM key"}],
    "flows": [{
        "name": "main",
        "nodes": [
            {"id": "start", "kind": "start", "next": "loop"},
            {"id": "loop", "kind": "standard", "name": "Echo", "cards": [
                {"id": "reply", "type": "text", "text": "You said {{event.preview}}"},
                {"id": "pause", "type": "wait"},
            ], "next": "loop"},
            {"id": "paid", "kind": "trigger", "trigger": {"type": "webhook"}, "next": "loop"},
        ],
    }],
    "layout": {"main": {"start": [0, 0], "loop": [240, 0]}},
}


def bot_file(**changes) -> dict:
    return {**copy.deepcopy(BOT_FILE), **changes}


@dataclass
class World:
    workspace: object
    bot: object
    users: dict  # role or "outsider" -> user
    raw_tokens: dict = field(default_factory=dict)
    conversation: object = None
    end_user: object = None
    message: object = None
    invitation: object = None
    spare_member: object = None
    other_workspace: object = None
    other_bot: object = None
    provider: object = None
    mcp_server: object = None
    row: int = 0  # the id of the one row of the bot's Orders table
    paused_run: object = None  # background workflow runs of conv-1 (rows only: no workflow runs)
    failed_run: object = None
    kb: object = None  # the bot's "Returns desk" knowledge base, one text source (not indexed)
    kb_source: object = None

    def client(self, who: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.raw_tokens[who]}")
        return client


def make_user(email: str):
    # No password: hashing one costs a third of a second, and these users sign in by token.
    return get_user_model().objects.create_user(username=email, email=email, password=None)


def make_world() -> World:
    owner = make_user("owner@example.com")
    workspace = workspace_services.create_workspace(owner, "Acme")
    users = {"owner": owner}
    for role in ROLES:
        if role == "owner":
            continue
        user = make_user(f"{role}@example.com")
        Membership.objects.create(workspace=workspace, user=user, role=role)
        users[role] = user
    outsider = make_user("outsider@example.com")
    other_workspace = workspace_services.create_workspace(outsider, "Elsewhere")
    users["outsider"] = outsider

    bot = services.import_bot(bot_file(), workspace=workspace, user=owner)
    services.publish(bot, user=owner, note="first")
    services.publish(bot, user=owner, note="second")
    services.set_config_value(bot, "API_KEY", "production", "secret-production-value", user=owner)
    orders = table_service.create_table(bot, {"name": "Orders", "columns": [
        {"name": "item", "type": "string", "searchable": True}, {"name": "qty", "type": "number"}]}, user=owner)
    row = table_service.insert_row(bot.pk, orders, {"item": "pen", "qty": 2})["id"]

    end_user = turns.get_or_create_user(bot, "visitor-1")
    conversation = turns.start_conversation(bot, end_user, external_id="conv-1", channel="webchat")
    turns.send_user_message(conversation, "hello")
    message = conversation.messages.order_by("seq").first()
    states.set_state(states.resolve_scope(bot, "conversation", "conv-1"), "context", {"topic": "billing"})
    version = bot.versions.order_by("-number").first()
    paused_run = WorkflowRun.objects.create(id=uuid.uuid4(), bot=bot, conversation=conversation, name="orderWorkflow",
                                            version=version, status=WorkflowRun.Status.PAUSED, current_step="ask")
    WorkflowStep.objects.create(run=paused_run, index=0, node="ask", status=WorkflowStep.Status.PAUSED,
                                request_name="orderId")
    failed_run = WorkflowRun.objects.create(id=uuid.uuid4(), bot=bot, conversation=conversation, name="orderWorkflow",
                                            version=version, status=WorkflowRun.Status.FAILED, current_step="ask",
                                            error="boom")
    WorkflowStep.objects.create(run=failed_run, index=0, node="ask", status=WorkflowStep.Status.FAILED, error="boom")

    kb = knowledge.create_knowledge_base(bot, name="Returns desk", description="Shipping and returns")
    kb_source = knowledge.add_text(kb, "Returns", "Returns are free within 30 days.")

    spare = make_user("spare@example.com")
    spare_member = Membership.objects.create(workspace=workspace, user=spare, role=Role.VIEWER)
    invitation = workspace_services.invite(workspace, "new@example.com", "developer", invited_by=owner).invitation
    other_bot = services.import_bot(bot_file(name="Theirs"), workspace=other_workspace, user=outsider)

    provider = save_provider(workspace, {"name": "acme", "base_url": "https://llm.example.com/v1",
                                         "api_key": "sk-world-key", "models": [{"id": "acme-fast", "label": "Fast"}]})
    # Never reached: ".invalid" does not resolve, so a test of it fails at once.
    mcp_server = save_mcp_server(workspace, {"name": "tools", "url": "https://mcp.example.invalid/mcp",
                                             "token": "mcp-world-token", "timeout_seconds": 2})
    world = World(workspace=workspace, bot=bot, users=users, conversation=conversation, end_user=end_user,
                  message=message, invitation=invitation, spare_member=spare_member,
                  other_workspace=other_workspace, other_bot=other_bot, provider=provider, mcp_server=mcp_server,
                  row=row, paused_run=paused_run, failed_run=failed_run, kb=kb, kb_source=kb_source)
    for who, user in users.items():
        world.raw_tokens[who] = tokens.create_token(user, f"tests {who}")[1]
    return world


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture
def owner_client(world) -> APIClient:
    return world.client("owner")
