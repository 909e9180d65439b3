"""Save as test and the runner page: what is recorded, the revision check, clear refusals,
permissions, and a failing run that shows expected and received."""
import copy
import json
import uuid

import pytest
from django.contrib.auth import get_user_model

from flows import services as flow_services
from integrations.llm import scripted_server as s
from integrations.llm.mcp_testing import mcp_test_server  # noqa: F401 (a fixture)
from integrations.llm.mcp_tools import save_mcp_server
from integrations.llm.services import save_provider
from integrations.llm.testing import scripted_llm_server  # noqa: F401 (a fixture)
from runtime import turns
from studio.emulator import sessions as emulator
from runtime.tests.bots import echo_bot
from studio.people.models import Membership, Role
from studio.people.workspaces import create_workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_bot():
    owner = get_user_model().objects.create_user(username=f"o{uuid.uuid4().hex[:6]}@x.test", password="pw-123456789")
    workspace = create_workspace(owner, "WS")
    bot = flow_services.import_bot(copy.deepcopy(echo_bot()), workspace=workspace)
    return owner, bot


def chat(owner, bot, *texts):
    session = emulator.open_session(owner, bot)
    for text in texts:
        turns.send_user_message(session.conversation, text)
    return session


def post(client, bot, body):
    return client.post(f"/bots/{bot.pk}/emulator/tests", json.dumps(body), content_type="application/json")


def test_save_as_test_records_the_conversation_and_chosen_variables(client, owner_bot):
    owner, bot = owner_bot
    session = chat(owner, bot, "one", "two")
    client.force_login(owner)
    response = post(client, bot, {"conversationId": session.conversation_id, "name": "echoes",
                                  "variables": ["user.count"], "baseRevision": bot.draft_revision})
    assert response.status_code == 201, response.content
    bot.refresh_from_db()
    assert response.json()["revision"] == bot.draft_revision
    assert bot.draft["tests"] == [{"name": "echoes", "draft": True, "steps": [
        {"user": "one"}, {"bot": "got one"}, {"user": "two"}, {"bot": "got two"},
        {"variable": "user.count", "equals": 2},
    ]}]
    # The recorded test passes on the runner page.
    page = client.post(f"/bots/{bot.pk}/tests/")
    assert page.status_code == 200 and b"1 of 1 passed" in page.content


def test_a_stale_revision_is_refused_and_nothing_is_written(client, owner_bot):
    owner, bot = owner_bot
    session = chat(owner, bot, "one")
    client.force_login(owner)
    response = post(client, bot, {"conversationId": session.conversation_id, "name": "t",
                                  "baseRevision": bot.draft_revision - 1 or 99})
    assert response.status_code == 409 and response.json()["error"]["code"] == "stale_revision"
    bot.refresh_from_db()
    assert not bot.draft.get("tests")


@pytest.mark.parametrize("body, path", [
    ({"name": ""}, "name"),
    ({"name": "x", "variables": ["count"]}, "variables"),
    ({"name": "x", "conversationId": "not-mine"}, "conversationId"),
])
def test_bad_requests_name_the_field(client, owner_bot, body, path):
    owner, bot = owner_bot
    session = chat(owner, bot, "one")
    client.force_login(owner)
    response = post(client, bot, {"conversationId": session.conversation_id, **body})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["path"] == path


def test_a_viewer_cannot_save_tests_but_may_run_them(client, owner_bot):
    owner, bot = owner_bot
    viewer = get_user_model().objects.create_user(username="v@x.test", password="pw-123456789")
    Membership.objects.create(workspace=bot.workspace, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    assert post(client, bot, {"name": "x"}).status_code == 403
    assert client.get(f"/bots/{bot.pk}/tests/").status_code == 200
    stranger = get_user_model().objects.create_user(username="s@x.test", password="pw-123456789")
    client.force_login(stranger)
    assert post(client, bot, {"name": "x"}).status_code == 404
    assert client.get(f"/bots/{bot.pk}/tests/").status_code == 404


def test_a_broken_bot_fails_the_test_with_expected_and_received_marked(client, owner_bot):
    owner, bot = owner_bot
    session = chat(owner, bot, "one")
    client.force_login(owner)
    assert post(client, bot, {"conversationId": session.conversation_id, "name": "echo"}).status_code == 201
    bot.refresh_from_db()
    document = flow_services.draft_document(bot)
    document["flows"][0]["nodes"][1]["cards"][1]["text"] = "heard {{event.preview}}"
    flow_services.replace_draft(bot, document, base_revision=bot.draft_revision)
    page = client.post(f"/bots/{bot.pk}/tests/").content.decode()
    assert "0 of 1 passed" in page and "FAIL" in page
    assert "<del>got</del>" in page and "<ins>heard</ins>" in page


def ai_bot():
    return {
        "format": "flowstudio.bot/1", "name": "AI",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "talk"},
            {"id": "talk", "kind": "standard", "cards": [
                {"id": "answer", "type": "ai_generate_text", "instructions": "You are terse.",
                 "prompt": "{{event.preview}}"},
                {"id": "again", "type": "wait"}], "next": "talk"},
        ]}],
    }


def test_save_as_test_keeps_the_llm_calls_so_the_test_runs_offline(client, scripted_llm_server):
    owner = get_user_model().objects.create_user(username=f"o{uuid.uuid4().hex[:6]}@x.test", password="pw-123456789")
    workspace = create_workspace(owner, "WS")
    save_provider(workspace, {"name": "acme", "base_url": scripted_llm_server.url, "api_key": "k",
                              "models": [{"id": "scripted-fast", "label": "Fast"}], "default_model": "Fast",
                              "max_retries": 0})
    bot = flow_services.import_bot(ai_bot(), workspace=workspace)
    scripted_llm_server.script([s.text("Hello Ada!")])
    session = chat(owner, bot, "hi, I am Ada")
    client.force_login(owner)
    response = post(client, bot, {"conversationId": session.conversation_id, "name": "greets",
                                  "baseRevision": bot.draft_revision})
    assert response.status_code == 201, response.content
    scripted_llm_server.stop()

    bot.refresh_from_db()
    assert bot.draft["tests"][0]["steps"] == [
        {"user": "hi, I am Ada"},
        {"llm": {"card": "answer",
                 "request": {"model": "", "messages": [{"role": "system", "content": "You are terse."},
                                                       {"role": "user", "content": "hi, I am Ada"}]},
                 "answer": {"text": "Hello Ada!", "model": "scripted-fast", "provider": "acme",
                            "tokensIn": bot.draft["tests"][0]["steps"][1]["llm"]["answer"]["tokensIn"],
                            "tokensOut": bot.draft["tests"][0]["steps"][1]["llm"]["answer"]["tokensOut"]}}},
        {"bot": "Hello Ada!"},
    ]
    page = client.post(f"/bots/{bot.pk}/tests/")
    assert page.status_code == 200 and b"1 of 1 passed" in page.content
    assert len(scripted_llm_server.requests) == 1

    # The builder changes the prompt: the runner page shows the diff of the prompt.
    document = flow_services.draft_document(bot)
    document["flows"][0]["nodes"][1]["cards"][0]["instructions"] = "You are friendly."
    flow_services.replace_draft(bot, document, base_revision=None)
    page = client.post(f"/bots/{bot.pk}/tests/")
    assert b"0 of 1 passed" in page.content
    assert b"-You are terse.\n+You are friendly." in page.content
    assert len(scripted_llm_server.requests) == 1


def test_save_as_test_keeps_the_mcp_tool_exchanges_so_the_test_runs_with_no_server(
        client, scripted_llm_server, mcp_test_server):
    owner = get_user_model().objects.create_user(username=f"o{uuid.uuid4().hex[:6]}@x.test", password="pw-123456789")
    workspace = create_workspace(owner, "WS")
    save_provider(workspace, {"name": "acme", "base_url": scripted_llm_server.url, "api_key": "k",
                              "models": [{"id": "scripted-fast", "label": "Fast"}], "default_model": "Fast",
                              "max_retries": 0})
    save_mcp_server(workspace, {"name": "calc", "url": mcp_test_server.url})
    bot = flow_services.import_bot({
        "format": "flowstudio.bot/1", "name": "Calc",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "agent"},
            {"id": "agent", "kind": "autonomous", "instructions": "Add with the calc tools.",
             "mcpServers": ["calc"], "cards": []}]}],
    }, workspace=workspace)
    scripted_llm_server.script([s.tool("calc_add", {"a": 20, "b": 22}), s.tool("calc_boom", {}),
                                s.text("42, and boom failed.")])
    session = chat(owner, bot, "20 + 22, then boom")
    client.force_login(owner)
    response = post(client, bot, {"conversationId": session.conversation_id, "name": "adds",
                                  "baseRevision": bot.draft_revision})
    assert response.status_code == 201, response.content
    scripted_llm_server.stop()
    mcp_test_server.stop()
    seen = len(scripted_llm_server.requests), len(mcp_test_server.headers)

    bot.refresh_from_db()
    steps = bot.draft["tests"][0]["steps"]
    assert [next(iter(step)) for step in steps] == ["user", "tools", "llm", "tool", "llm", "tool", "llm", "bot"]
    assert "calc.add" in [tool["function"]["name"] for tool in steps[1]["tools"]["list"]]
    # Under the host's name, as the host saw it, though the model called calc_add.
    assert steps[3] == {"tool": {"name": "calc.add", "arguments": {"a": 20, "b": 22}, "result": "42"}}
    # A failing tool: the host's own message, as the model read it after "the tool ... failed: ".
    assert steps[5] == {"tool": {"name": "calc.boom", "arguments": {}, "error": {
        "message": "MCP server 'calc': tool 'boom' failed: Error executing tool boom"}}}
    page = client.post(f"/bots/{bot.pk}/tests/")
    assert page.status_code == 200 and b"1 of 1 passed" in page.content, page.content.decode()
    assert (len(scripted_llm_server.requests), len(mcp_test_server.headers)) == seen
