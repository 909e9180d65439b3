"""Every role (and a non-member, and an anonymous visitor) against every studio page, read and
write: allowed answers 200/302 and does the thing; denied answers 403 and changes nothing; a
non-member gets 404 everywhere, as if the workspace and its bots did not exist."""
from dataclasses import dataclass
from typing import Callable

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from flows import services as flow_services
from flows.models import Bot, ConfigValue
from integrations.chat_api.models import ChatApiSettings
from integrations.helpdesk.models import Desk
from runtime.models import Conversation, EndUser, Event, Issue, TriggerSecret
from studio.people import workspaces as ws
from studio.people.models import Invitation, Membership, Role, Workspace

pytestmark = pytest.mark.django_db

O, A, M, D, V, B = (Role.OWNER, Role.ADMINISTRATOR, Role.MANAGER, Role.DEVELOPER, Role.VIEWER, Role.BILLING_MANAGER)
ALL = {O, A, M, D, V, B}
BOT_FILE = b"""{"format": "flowstudio.bot/1", "name": "Imported", "flows": [{"name": "main", "nodes": [
  {"id": "start", "kind": "start", "next": "end"}, {"id": "end", "kind": "end"}]}]}"""


@dataclass
class World:
    workspace: Workspace
    users: dict
    bot: Bot
    target: Membership  # a plain member the role-changing pages act on
    invitation: Invitation
    waiting: Conversation | None = None  # escalated, waiting in the Inbox
    event: Event | None = None  # a turn of the waiting conversation (its trace is a page)
    issue: Issue | None = None  # an open issue of the bot (the Issues page resolves it)


@pytest.fixture
def world():
    User = get_user_model()
    owner = User.objects.create_user("owner@example.com", "owner@example.com")
    workspace = ws.create_workspace(owner, "Acme")
    users = {O: owner}
    for role in ALL - {O}:
        users[role] = User.objects.create_user(f"{role.value}@example.com", f"{role.value}@example.com")
        Membership.objects.create(workspace=workspace, user=users[role], role=role)
    target_user = User.objects.create_user("target@example.com", "target@example.com")
    target = Membership.objects.create(workspace=workspace, user=target_user, role=V)
    # One webhook trigger node: the Webhook triggers page lists it and rotates its secret.
    bot = Bot.objects.create(workspace=workspace, name="Support", created_by=owner, draft={"name": "Support", "flows": [
        {"name": "main", "nodes": [{"id": "start", "kind": "start", "next": None},
                                   {"id": "paid", "kind": "trigger", "trigger": {"type": "webhook"}, "next": None}]}]})
    invitation = ws.invite(workspace, "pending@example.com", V, invited_by=owner).invitation
    visitor = EndUser.objects.create(bot=bot, external_id="visitor")
    waiting = Conversation.objects.create(bot=bot, user=visitor, external_id="escalated", channel="webchat",
                                          handoff_status=Conversation.Handoff.WAITING, handoff_reason="asked for a person")
    event = Event.objects.create(conversation=waiting, seq=1, type="text", payload={"text": "hi"}, trace=[], logs=[])
    flow_services.declare_config_variable(bot, "CRM_KEY")
    ConfigValue.objects.create(bot=bot, name="CRM_KEY", environment="draft", value="old-draft-value")
    now = timezone.now()
    issue = Issue.objects.create(bot=bot, fingerprint="f" * 64, kind="bot error", card="c1", pattern="boom <n>",
                                 first_seen=now, last_seen=now, count=1, sample_conversation=waiting)
    # A connected help desk, which the "disable help desk" page turns off.
    Desk.objects.create(bot=bot, base_url="https://chat.example.com", account_id=3, inbox_id=1)
    return World(workspace, users, bot, target, invitation, waiting, event, issue)


@dataclass
class Case:
    name: str
    method: str
    url: Callable[[World], str]
    allowed: set
    data: Callable[[World], dict] = lambda w: {}
    # done(world) -> True when the write took effect; checked both ways.
    done: Callable[[World], bool] | None = None


def _slug(w):
    return w.workspace.slug


CASES = [
    Case("bots list", "GET", lambda w: f"/w/{_slug(w)}/", ALL),
    Case("members", "GET", lambda w: f"/w/{_slug(w)}/members/", ALL),
    Case("settings", "GET", lambda w: f"/w/{_slug(w)}/settings/", {O, A, B}),
    Case("audit log", "GET", lambda w: f"/w/{_slug(w)}/audit/", {O, A, M}),
    Case("usage", "GET", lambda w: f"/w/{_slug(w)}/usage/", {O, A, B}),
    Case("bot dashboard", "GET", lambda w: f"/bots/{w.bot.pk}/", {O, A, M, D, V}),
    Case("bot export", "GET", lambda w: f"/bots/{w.bot.pk}/export/", {O, A, M, D, V}),
    Case("chat api key", "GET", lambda w: f"/bots/{w.bot.pk}/chat-api/key/", {O, A, M, D}),
    Case("webhook triggers", "GET", lambda w: f"/bots/{w.bot.pk}/triggers/", {O, A, M, D, V}),
    Case("rotate a trigger secret", "POST", lambda w: f"/bots/{w.bot.pk}/triggers/main/paid/secret/", {O, A, M, D},
         done=lambda w: TriggerSecret.objects.filter(bot=w.bot, flow="main", node="paid").exists()),
    Case("enable chat api", "POST", lambda w: f"/bots/{w.bot.pk}/chat-api/", {O, A, M, D},
         data=lambda w: {"action": "enable"},
         done=lambda w: ChatApiSettings.objects.filter(bot=w.bot, enabled=True).exists()),
    Case("create bot", "POST", lambda w: f"/w/{_slug(w)}/bots/new/", {O, A, M, D},
         data=lambda w: {"name": "Fresh"}, done=lambda w: Bot.objects.filter(name="Fresh").exists()),
    Case("import bot", "POST", lambda w: f"/w/{_slug(w)}/bots/import/", {O, A, M, D},
         data=lambda w: {"file": SimpleUploadedFile("x.bot.json", BOT_FILE)},
         done=lambda w: Bot.objects.filter(name="Imported").exists()),
    Case("delete bot", "POST", lambda w: f"/bots/{w.bot.pk}/delete/", {O, A, M},
         done=lambda w: not Bot.objects.filter(pk=w.bot.pk).exists()),
    Case("rename workspace", "POST", lambda w: f"/w/{_slug(w)}/settings/rename/", {O, A, B},
         data=lambda w: {"name": "Renamed"}, done=lambda w: Workspace.objects.filter(name="Renamed").exists()),
    Case("delete workspace", "POST", lambda w: f"/w/{_slug(w)}/settings/delete/", {O},
         data=lambda w: {"confirm_name": "Acme"}, done=lambda w: not Workspace.objects.filter(pk=w.workspace.pk).exists()),
    Case("invite", "POST", lambda w: f"/w/{_slug(w)}/members/invite/", {O, A},
         data=lambda w: {"email": "new@example.com", "role": "developer"},
         done=lambda w: Invitation.objects.filter(email="new@example.com").exists()),
    Case("change role", "POST", lambda w: f"/w/{_slug(w)}/members/{w.target.pk}/role/", {O, A},
         data=lambda w: {"role": "manager"},
         done=lambda w: Membership.objects.get(pk=w.target.pk).role == M),
    Case("remove member", "POST", lambda w: f"/w/{_slug(w)}/members/{w.target.pk}/remove/", {O, A},
         done=lambda w: not Membership.objects.filter(pk=w.target.pk).exists()),
    Case("renew invitation", "POST", lambda w: f"/w/{_slug(w)}/invitations/{w.invitation.pk}/renew/", {O, A},
         done=lambda w: Invitation.objects.get(pk=w.invitation.pk).token_hash != w.invitation.token_hash),
    Case("inbox", "GET", lambda w: f"/w/{_slug(w)}/inbox/", {O, A, M, D}),
    Case("inbox conversation", "GET", lambda w: f"/w/{_slug(w)}/inbox/{w.waiting.pk}/", {O, A, M, D}),
    Case("take a conversation", "POST", lambda w: f"/w/{_slug(w)}/inbox/{w.waiting.pk}/assign/", {O, A, M, D},
         done=lambda w: Conversation.objects.get(pk=w.waiting.pk).handoff_status == "with_agent"),
    # the bot dashboard's Conversations and Configuration variables pages (docs/dashboard.md)
    Case("conversations", "GET", lambda w: f"/bots/{w.bot.pk}/conversations/", {O, A, M, D, V}),
    Case("conversations csv", "GET", lambda w: f"/bots/{w.bot.pk}/conversations/export.csv", {O, A, M, D, V}),
    Case("conversations jsonl", "GET", lambda w: f"/bots/{w.bot.pk}/conversations/export.jsonl", {O, A, M, D, V}),
    Case("transcript", "GET", lambda w: f"/bots/{w.bot.pk}/conversations/{w.waiting.pk}/", {O, A, M, D, V}),
    Case("turn trace", "GET", lambda w: f"/bots/{w.bot.pk}/conversations/{w.waiting.pk}/turns/{w.event.pk}/",
         {O, A, M, D, V}),
    Case("config page", "GET", lambda w: f"/bots/{w.bot.pk}/config/", {O, A, M, D, V}),
    Case("set config value", "POST", lambda w: f"/bots/{w.bot.pk}/config/CRM_KEY/production/", {O, A, M, D},
         data=lambda w: {"action": "set", "value": "sk-live"},
         done=lambda w: ConfigValue.objects.filter(bot=w.bot, name="CRM_KEY", environment="production").exists()),
    Case("clear config value", "POST", lambda w: f"/bots/{w.bot.pk}/config/CRM_KEY/draft/", {O, A, M, D},
         data=lambda w: {"action": "clear"},
         done=lambda w: not ConfigValue.objects.filter(bot=w.bot, name="CRM_KEY", environment="draft").exists()),
    # Logs, Events, Issues and Chatbot settings (docs/dashboard.md)
    Case("logs", "GET", lambda w: f"/bots/{w.bot.pk}/logs/", {O, A, M, D, V}),
    Case("logs tail", "GET", lambda w: f"/bots/{w.bot.pk}/logs/tail/?after=0", {O, A, M, D, V}),
    # The tail's websocket (/ws/bots/<bot>/logs/) has the same row, for every role, a
    # non-member and an anonymous visitor, in studio/tests/test_log_tail_socket.py.
    Case("events", "GET", lambda w: f"/bots/{w.bot.pk}/events/", {O, A, M, D, V}),
    Case("issues", "GET", lambda w: f"/bots/{w.bot.pk}/issues/", {O, A, M, D, V}),
    Case("resolve issue", "POST", lambda w: f"/bots/{w.bot.pk}/issues/{w.issue.pk}/", {O, A, M, D},
         data=lambda w: {"action": "resolve"},
         done=lambda w: Issue.objects.get(pk=w.issue.pk).resolved_at is not None),
    Case("analytics", "GET", lambda w: f"/bots/{w.bot.pk}/analytics/", {O, A, M, D, V}),
    Case("chatbot settings", "GET", lambda w: f"/bots/{w.bot.pk}/settings/", {O, A, M, D, V}),
    Case("save chatbot settings", "POST", lambda w: f"/bots/{w.bot.pk}/settings/", {O, A, M, D},
         data=lambda w: {"inactivityTimeoutMinutes": "12", "nodeRepetitionLimit": "10", "languages": "en",
                         "defaultLanguage": "en", "fallbackMessage": "Sorry."},
         done=lambda w: (Bot.objects.get(pk=w.bot.pk).draft.get("settings") or {}).get("inactivityTimeoutMinutes") == 12),
    # The bot's external help desk (docs/handoff.md, "An external desk: Chatwoot")
    Case("connect help desk", "POST", lambda w: f"/bots/{w.bot.pk}/helpdesk/", {O, A, M, D},
         data=lambda w: {"action": "save", "base_url": "https://chat.example.com", "account_id": "3",
                         "inbox_id": "9", "api_access_token": "cw-token-1234", "webhook_secret": "cw-secret-1234"},
         done=lambda w: Desk.objects.filter(bot=w.bot, inbox_id=9).exists()),
    Case("disable help desk", "POST", lambda w: f"/bots/{w.bot.pk}/helpdesk/", {O, A, M, D},
         data=lambda w: {"action": "disable"}, done=lambda w: Desk.objects.filter(bot=w.bot, enabled=False).exists()),
    Case("revoke invitation", "POST", lambda w: f"/w/{_slug(w)}/invitations/{w.invitation.pk}/revoke/", {O, A},
         done=lambda w: not Invitation.objects.filter(pk=w.invitation.pk).exists()),
]


def _call(client, case, world):
    url = case.url(world)
    if case.method == "GET":
        return client.get(url)
    return client.post(url, case.data(world))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_role_against_page(client, world, case, role):
    client.force_login(world.users[role])
    response = _call(client, case, world)
    if role in case.allowed:
        assert response.status_code in (200, 302), (response.status_code, response.content[:300])
        if case.done:
            assert case.done(world), f"{role.value} was allowed to {case.name} but nothing happened"
    else:
        assert response.status_code == 403, (response.status_code, response.content[:300])
        if case.done:
            assert not case.done(world), f"{role.value} was refused {case.name} but it happened anyway"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_non_member_gets_404(client, world, case):
    stranger = get_user_model().objects.create_user("stranger@example.com", "stranger@example.com")
    ws.create_workspace(stranger, "Elsewhere")  # an owner, just not here
    client.force_login(stranger)
    response = _call(client, case, world)
    assert response.status_code == 404
    if case.done:
        assert not case.done(world)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_anonymous_is_sent_to_login(client, world, case):
    response = _call(client, case, world)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    if case.done:
        assert not case.done(world)


def test_unknown_ids_are_404_like_foreign_ones(client, world):
    client.force_login(world.users[O])
    assert client.get("/bots/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/w/no-such-workspace/").status_code == 404
    assert client.post(f"/w/{_slug(world)}/members/999999/role/", {"role": "viewer"}).status_code == 404
    # A membership of another workspace, addressed through this one, is not found either.
    other = ws.create_workspace(world.users[O], "Second")
    foreign = Membership.objects.create(workspace=other, user=world.users[V], role=V)
    assert client.post(f"/w/{_slug(world)}/members/{foreign.pk}/remove/").status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_developer_deletes_only_own_bots(client, world, role):
    own = Bot.objects.create(workspace=world.workspace, name="Own", created_by=world.users[role], draft={"name": "Own"})
    client.force_login(world.users[role])
    response = client.post(f"/bots/{own.pk}/delete/")
    expected = role in {O, A, M, D}
    assert response.status_code == (302 if expected else 403)
    assert Bot.objects.filter(pk=own.pk).exists() is not expected


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_member_may_leave_but_the_owner(client, world, role):
    client.force_login(world.users[role])
    client.post(f"/w/{_slug(world)}/members/leave/")
    assert Membership.objects.filter(workspace=world.workspace, user=world.users[role]).exists() is (role == O)


@pytest.mark.parametrize("role", [O, A])
def test_the_owner_cannot_be_demoted_or_removed_through_the_pages(client, world, role):
    client.force_login(world.users[role])
    owner_membership = Membership.objects.get(workspace=world.workspace, role=O)
    client.post(f"/w/{_slug(world)}/members/{owner_membership.pk}/role/", {"role": "viewer"})
    client.post(f"/w/{_slug(world)}/members/{owner_membership.pk}/remove/")
    owner_membership.refresh_from_db()
    assert owner_membership.role == O
    # and nobody can be made owner
    client.post(f"/w/{_slug(world)}/members/{world.target.pk}/role/", {"role": "owner"})
    assert Membership.objects.get(pk=world.target.pk).role == V


def test_user_pages_are_the_users_own(client, world):
    from studio.people import tokens

    token, _ = tokens.create_token(world.users[V], "viewer's")
    client.force_login(world.users[A])
    for url in ("/tokens/", "/accounts/profile/", "/accounts/password/"):
        assert client.get(url).status_code == 200
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    client.logout()
    for url in ("/tokens/", "/accounts/profile/", "/accounts/password/"):
        assert client.get(url)["Location"].startswith("/accounts/login/")
