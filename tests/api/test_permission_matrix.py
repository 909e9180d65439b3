"""Every role (and an outsider who owns another workspace) against every API endpoint, read
and write: allowed (2xx), denied (403), or not found (404) for anyone outside the workspace.

The expected roles are written out here from the role descriptions (platform inventory 1.4),
not read from studio.permissions, so a policy change has to change this table too. A test
also checks that the table covers every operation in the OpenAPI schema.
"""
from __future__ import annotations

import json

import pytest
from django.db import transaction

from tests.api.conftest import make_world

ALL = {"owner", "administrator", "manager", "developer", "viewer", "billing_manager"}
READERS = ALL - {"billing_manager"}
EDITORS = {"owner", "administrator", "manager", "developer"}
BOT_DELETERS = {"owner", "administrator", "manager"}  # developers: only bots they created (own test)
MEMBER_MANAGERS = {"owner", "administrator"}
PROVIDER_ADMINS = {"owner", "administrator"}  # LLM providers: every member reads them
AUDITORS = {"owner", "administrator", "manager"}
WORKSPACE_CHANGERS = {"owner", "administrator", "billing_manager"}
OWNER = {"owner"}

BOT = "/api/v1/bots/{bot}"
WS = "/api/v1/workspaces/{workspace}"
STATE = BOT + "/states/conversation/conv-1"
TABLE = BOT + "/tables/Orders"
KB = BOT + "/knowledge-bases/{kb}"

# (method, path, body, roles allowed)
MATRIX = [
    ("GET", WS, None, ALL),
    ("PATCH", WS, {"name": "Acme 2"}, WORKSPACE_CHANGERS),
    ("DELETE", WS + "?confirmName=Acme", None, OWNER),
    ("GET", WS + "/members", None, ALL),
    ("GET", WS + "/members/{spare}", None, ALL),
    ("PATCH", WS + "/members/{spare}", {"role": "developer"}, MEMBER_MANAGERS),
    ("DELETE", WS + "/members/{spare}", None, MEMBER_MANAGERS),
    ("GET", WS + "/invitations", None, MEMBER_MANAGERS),
    ("POST", WS + "/invitations", {"email": "someone@example.com", "role": "viewer"}, MEMBER_MANAGERS),
    ("DELETE", WS + "/invitations/{invitation}", None, MEMBER_MANAGERS),
    ("GET", WS + "/audit", None, AUDITORS),
    ("GET", WS + "/llm-providers", None, ALL),
    ("POST", WS + "/llm-providers", {"name": "other", "base_url": "https://llm.example.org/v1"}, PROVIDER_ADMINS),
    ("GET", WS + "/llm-providers/{provider}", None, ALL),
    ("PATCH", WS + "/llm-providers/{provider}", {"default_model": "Fast"}, PROVIDER_ADMINS),
    ("DELETE", WS + "/llm-providers/{provider}", None, PROVIDER_ADMINS),
    ("GET", WS + "/mcp-servers", None, ALL),
    ("POST", WS + "/mcp-servers", {"name": "more", "url": "https://mcp.example.org/mcp"}, PROVIDER_ADMINS),
    ("GET", WS + "/mcp-servers/{mcp_server}", None, ALL),
    ("PATCH", WS + "/mcp-servers/{mcp_server}", {"timeout_seconds": 5}, PROVIDER_ADMINS),
    ("DELETE", WS + "/mcp-servers/{mcp_server}", None, PROVIDER_ADMINS),
    ("POST", WS + "/mcp-servers/{mcp_server}/test", None, PROVIDER_ADMINS),
    ("GET", WS + "/bots", None, READERS),
    ("POST", WS + "/bots", {"name": "New bot"}, EDITORS),
    ("POST", WS + "/bots/import", "BOT_FILE", EDITORS),
    ("GET", BOT, None, READERS),
    ("PATCH", BOT, {"name": "Renamed"}, EDITORS),
    ("DELETE", BOT, None, BOT_DELETERS),
    ("GET", BOT + "/export", None, READERS),
    ("GET", BOT + "/definition", None, READERS),
    ("PUT", BOT + "/definition", "DEFINITION", EDITORS),
    ("GET", BOT + "/flows", None, READERS),
    ("GET", BOT + "/flows/main", None, READERS),
    ("GET", BOT + "/flows/main/nodes/loop", None, READERS),
    ("GET", BOT + "/cards/reply", None, READERS),
    ("GET", BOT + "/variables", None, READERS),
    ("PUT", BOT + "/variables", "VARIABLES", EDITORS),
    ("GET", BOT + "/tables", None, READERS),
    ("POST", BOT + "/tables", {"name": "Other", "columns": [{"name": "n", "type": "number"}]}, EDITORS),
    ("GET", TABLE, None, READERS),
    ("PUT", TABLE, {"name": "Orders", "columns": [{"name": "item", "type": "string"}]}, EDITORS),
    ("DELETE", TABLE, None, EDITORS),
    ("GET", TABLE + "/rows", None, READERS),
    ("POST", TABLE + "/rows", {"rows": [{"item": "ink"}]}, EDITORS),
    ("POST", TABLE + "/rows/find", {"filter": {"qty": {"$gt": 1}}}, READERS),
    ("POST", TABLE + "/rows/upsert", {"keyColumn": "item", "rows": [{"item": "pen", "qty": 3}]}, EDITORS),
    ("POST", TABLE + "/rows/delete", {"ids": [1]}, EDITORS),
    ("GET", TABLE + "/rows/{row}", None, READERS),
    ("PATCH", TABLE + "/rows/{row}", {"values": {"qty": 5}}, EDITORS),
    ("DELETE", TABLE + "/rows/{row}", None, EDITORS),
    ("POST", TABLE + "/import", {"csv": "item,qty\nink,1\n"}, EDITORS),
    ("GET", TABLE + "/export", None, READERS),
    ("GET", BOT + "/knowledge-bases", None, READERS),
    ("POST", BOT + "/knowledge-bases", {"name": "Pricing"}, EDITORS),
    ("POST", BOT + "/knowledge-bases/search", {"query": "returns"}, READERS),
    ("GET", KB, None, READERS),
    ("PATCH", KB, {"description": "Everything about returns"}, EDITORS),
    ("DELETE", KB, None, EDITORS),
    ("GET", KB + "/sources", None, READERS),
    ("POST", KB + "/sources", {"kind": "text", "name": "Shipping", "text": "We ship in two days."}, EDITORS),
    ("GET", KB + "/sources/{kb_source}", None, READERS),
    ("DELETE", KB + "/sources/{kb_source}", None, EDITORS),
    ("POST", KB + "/sources/{kb_source}/reindex", None, EDITORS),
    ("GET", BOT + "/chat-api", None, READERS),
    ("PATCH", BOT + "/chat-api", {"enabled": True}, EDITORS),
    ("GET", BOT + "/chat-api/key", None, EDITORS),
    ("GET", BOT + "/config", None, READERS),
    ("POST", BOT + "/config", {"name": "OTHER_KEY"}, EDITORS),
    ("GET", BOT + "/config/API_KEY", None, READERS),
    ("DELETE", BOT + "/config/API_KEY", None, EDITORS),
    ("PUT", BOT + "/config/API_KEY/draft", {"value": "draft-secret"}, EDITORS),
    ("DELETE", BOT + "/config/API_KEY/production", None, EDITORS),
    ("GET", BOT + "/llm-usage", None, READERS),
    ("GET", BOT + "/webhook-triggers", None, READERS),
    ("POST", BOT + "/webhook-triggers/main/paid/secret", None, EDITORS),
    ("GET", BOT + "/versions", None, READERS),
    ("POST", BOT + "/versions", {"note": "third"}, EDITORS),
    ("GET", BOT + "/versions/1", None, READERS),
    ("POST", BOT + "/versions/1/restore", {}, EDITORS),
    ("GET", BOT + "/versions/diff?from=1&to=2", None, READERS),
    ("GET", BOT + "/conversations", None, READERS),
    ("GET", BOT + "/conversations/conv-1", None, READERS),
    ("PATCH", BOT + "/conversations/conv-1", {"tags": {"topic": "sales"}}, EDITORS),
    ("DELETE", BOT + "/conversations/conv-1", None, EDITORS),
    ("GET", BOT + "/conversations/conv-1/messages", None, READERS),
    ("POST", BOT + "/conversations/conv-1/cancel", None, EDITORS),
    ("GET", BOT + "/workflows/{paused_run}", None, READERS),
    ("POST", BOT + "/workflows/{paused_run}/cancel", None, EDITORS),
    ("POST", BOT + "/workflows/{failed_run}/retry", None, EDITORS),
    ("GET", BOT + "/messages/{message}", None, READERS),
    ("PATCH", BOT + "/messages/{message}", {"tags": {"flag": "yes"}}, EDITORS),
    ("DELETE", BOT + "/messages/{message}", None, EDITORS),
    ("GET", BOT + "/users", None, READERS),
    ("GET", BOT + "/users/visitor-1", None, READERS),
    ("PATCH", BOT + "/users/visitor-1", {"tags": {"language": "fr"}}, EDITORS),
    ("DELETE", BOT + "/users/visitor-1", None, EDITORS),
    ("GET", STATE, None, READERS),
    ("GET", STATE + "/context", None, READERS),
    ("POST", STATE + "/context", {"payload": {"topic": "sales"}}, EDITORS),
    ("DELETE", STATE + "/context", None, EDITORS),
    ("POST", STATE + "/other/get-or-set", {"payload": {"n": 1}}, EDITORS),
]

# Operations that are not about a workspace's objects (your own tokens, your workspace list,
# the public schema and docs): covered by test_tokens.py and test_workspaces.py.
NOT_IN_MATRIX = {("GET", "/api/v1/workspaces"), ("POST", "/api/v1/workspaces"), ("GET", "/api/v1/tokens"),
                 ("POST", "/api/v1/tokens"), ("GET", "/api/v1/tokens/{token_id}"),
                 ("DELETE", "/api/v1/tokens/{token_id}"),
                 # Needs a bot with a background workflow, which the world's bot has not:
                 # tests/api/test_workflow_runs.py checks its roles (viewer 403, outsider 404).
                 ("POST", "/api/v1/bots/{bot_id}/conversations/{conversation_id}/resume-workflow")}


class Rollback(Exception):
    pass


def _body(world, body):
    if body == "BOT_FILE":
        from tests.api.conftest import bot_file

        return json.dumps(bot_file(name="Imported"))
    if body == "DEFINITION":
        from tests.api.conftest import bot_file

        return json.dumps({"baseRevision": world.bot.draft_revision, "definition": bot_file(name="Saved")})
    if body == "VARIABLES":
        return json.dumps({"baseRevision": world.bot.draft_revision,
                           "variables": [{"scope": "bot", "name": "total", "type": "number"}]})
    return json.dumps(body) if body is not None else None


def _url(world, template: str, *, workspace=None, bot=None) -> str:
    return template.format(
        workspace=(workspace or world.workspace).slug, bot=(bot or world.bot).pk, spare=world.spare_member.user_id,
        invitation=world.invitation.pk, message=world.message.pk, provider=world.provider.pk,
        mcp_server=world.mcp_server.pk, row=world.row, paused_run=world.paused_run.pk,
        failed_run=world.failed_run.pk, kb=world.kb.pk, kb_source=world.kb_source.pk,
    )


def _call(world, who, method, url, body):
    client = world.client(who)
    data = _body(world, body)
    return client.generic(method, url, data=data or "", content_type="application/json")


def _outcome(world, who, method, url, body) -> tuple[int, str]:
    """The status a call gets, with every write rolled back so each role starts equal."""
    result = {}
    try:
        with transaction.atomic():
            response = _call(world, who, method, url, body)
            result["status"] = response.status_code
            result["body"] = response.content.decode()[:300]
            raise Rollback
    except Rollback:
        pass
    return result["status"], result["body"]


@pytest.mark.django_db
@pytest.mark.parametrize("method,template,body,allowed", MATRIX, ids=[f"{m} {t}" for m, t, _, _ in MATRIX])
def test_every_role_against_the_endpoint(method, template, body, allowed):
    world = make_world()
    url = _url(world, template)
    for role in sorted(ALL):
        status, text = _outcome(world, role, method, url, body)
        if role in allowed:
            assert 200 <= status < 300, f"{role} should be allowed {method} {url}: {status} {text}"
        else:
            assert status == 403, f"{role} should be refused {method} {url}: {status} {text}"
            assert json.loads(text)["error"]["code"] == "permission_denied"
    status, text = _outcome(world, "outsider", method, url, body)
    assert status == 404, f"an outsider must not learn {url} exists: {status} {text}"
    assert json.loads(text)["error"]["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("method,template,body,allowed", MATRIX, ids=[f"{m} {t}" for m, t, _, _ in MATRIX])
def test_ids_of_another_workspace_are_404_even_for_its_owner_of_this_one(method, template, body, allowed):
    """Guessing the id of another workspace's bot (or its slug) from inside this one is 404."""
    world = make_world()
    url = _url(world, template, workspace=world.other_workspace, bot=world.other_bot)
    status, text = _outcome(world, "owner", method, url, body)
    assert status == 404, f"{method} {url}: {status} {text}"


@pytest.mark.django_db
def test_unauthenticated_and_bad_tokens_are_401(world):
    from rest_framework.test import APIClient

    url = _url(world, BOT)
    anonymous = APIClient().get(url)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Bearer fs_pat_not-a-real-token")
    response = wrong.get(url)
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_a_developer_may_delete_only_bots_they_created(world):
    from flows import services

    developer = world.client("developer")
    assert developer.delete(_url(world, BOT)).status_code == 403
    own = services.create_bot(world.workspace, name="Mine", user=world.users["developer"])
    assert developer.delete(f"/api/v1/bots/{own.pk}").status_code == 204


def test_the_matrix_covers_every_operation_of_the_schema(client, db):
    schema = client.get("/api/v1/schema/?format=json").json()
    operations = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    in_matrix = set()
    for method, template, _, _ in MATRIX:
        path = template.split("?")[0]
        for concrete, parameter in (("{workspace}", "{workspace}"), ("{bot}", "{bot_id}"), ("{spare}", "{user_id}"),
                                    ("{invitation}", "{invitation_id}"), ("{message}", "{message_id}"),
                                    ("{provider}", "{provider_id}"), ("{mcp_server}", "{server_id}"),
                                    ("/conversations/conv-1", "/conversations/{conversation_id}"),
                                    ("/users/visitor-1", "/users/{user_id}"),
                                    ("/states/conversation/conv-1", "/states/{state_type}/{scope_id}"),
                                    ("/context", "/{name}"), ("/other/", "/{name}/"),
                                    ("/flows/main", "/flows/{flow}"), ("/nodes/loop", "/nodes/{node}"),
                                    ("/cards/reply", "/cards/{card}"), ("/config/API_KEY", "/config/{name}"),
                                    ("/draft", "/{environment}"), ("/production", "/{environment}"),
                                    ("/versions/1", "/versions/{number}"), ("/tables/Orders", "/tables/{table}"),
                                    ("/rows/{row}", "/rows/{row_id}"), ("{paused_run}", "{workflow_id}"),
                                    ("{failed_run}", "{workflow_id}"), ("{kb}", "{kb_id}"),
                                    ("{kb_source}", "{source_id}"),
                                    ("/webhook-triggers/main/paid", "/webhook-triggers/{flow}/{node}")):
            path = path.replace(concrete, parameter)
        in_matrix.add((method, path))
    assert operations - NOT_IN_MATRIX == in_matrix
