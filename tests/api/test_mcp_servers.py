"""A workspace's MCP servers through the REST API: admins add, change, test and remove them,
every member reads them, the token and header values are never shown (not in an answer, not
in the audit log), and refusals name the field as a JSON path."""
import pytest

from integrations.llm.mcp_testing import MCPTestServer, mcp_test_server  # noqa: F401  (fixture)
from integrations.llm.models import MCPServer
from studio.people.models import AuditEntry

TOKEN = "mcp-canary-token-3b5d7f9a1c"
HEADER_VALUE = "mcp-canary-header-8e0a2c4b6d"


def servers_url(world):
    return f"/api/v1/workspaces/{world.workspace.slug}/mcp-servers"


@pytest.mark.django_db
def test_an_admin_adds_a_server_and_every_member_sees_it_without_its_secrets(world, owner_client):
    created = owner_client.post(servers_url(world), {"name": "crm", "url": "https://crm.example.org/mcp",
                                                     "token": TOKEN, "headers": {"X-Tenant": HEADER_VALUE}},
                                format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["name"], body["url"], body["has_token"], body["header_names"], body["timeout_seconds"]) == \
        ("crm", "https://crm.example.org/mcp", True, ["X-Tenant"], 10.0)
    stored = MCPServer.objects.get(pk=body["id"])
    assert (stored.token, stored.headers) == (TOKEN, {"X-Tenant": HEADER_VALUE})

    for who in ("viewer", "billing_manager", "developer"):
        listed = world.client(who).get(servers_url(world))
        assert listed.status_code == 200
        assert sorted(s["name"] for s in listed.json()["mcp_servers"]) == ["crm", "tools"]
        detail = world.client(who).get(f"{servers_url(world)}/{body['id']}")
        assert detail.json()["has_token"] is True
        text = created.content.decode() + listed.content.decode() + detail.content.decode()
        assert TOKEN not in text and HEADER_VALUE not in text

    entry = AuditEntry.objects.get(action="mcp_server.create")
    assert entry.details["header_names"] == ["X-Tenant"]
    assert TOKEN not in str(entry.details) and HEADER_VALUE not in str(entry.details)


@pytest.mark.django_db
def test_a_change_keeps_the_secrets_unless_given_and_a_delete_removes_the_server(world, owner_client):
    url = f"{servers_url(world)}/{world.mcp_server.pk}"
    changed = owner_client.patch(url, {"timeout_seconds": 4}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["timeout_seconds"] == 4.0 and changed.json()["has_token"] is True
    assert MCPServer.objects.get(pk=world.mcp_server.pk).token == "mcp-world-token"

    removed = owner_client.patch(url, {"token": ""}, format="json")
    assert removed.json()["has_token"] is False
    assert AuditEntry.objects.filter(action="mcp_server.update").count() == 2

    assert owner_client.delete(url).status_code == 204
    assert owner_client.get(url).status_code == 404
    assert AuditEntry.objects.filter(action="mcp_server.delete").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body,path,words", [
    ({"name": "with.dot", "url": "https://x.example.org/mcp"}, "$.name", "letters, digits"),
    ({"name": "tools", "url": "https://x.example.org/mcp"}, "$.name", "already has an MCP server"),
    ({"name": "ok", "url": "ftp://x.example.org"}, "$.url", "http or https"),
    ({"name": "ok", "url": "https://x.example.org/mcp", "timeout_seconds": 90}, "$.timeout_seconds", "1 to 25"),
    ({"name": "ok", "url": "https://x.example.org/mcp", "headers": {"Authorization": "x"}},
     "$.headers['Authorization']", "token"),
    ({"name": "ok", "url": "https://x.example.org/mcp", "colour": "red"}, "$.colour", "unknown field"),
])
def test_a_refusal_names_the_field_as_a_json_path(world, owner_client, body, path, words):
    refused = owner_client.post(servers_url(world), body, format="json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["details"][0]["path"] == path
    assert words in error["details"][0]["message"]


@pytest.mark.django_db(transaction=True)
def test_testing_a_server_lists_its_tools_or_says_why_not(world, owner_client, mcp_test_server):  # noqa: F811
    added = owner_client.post(servers_url(world), {"name": "local", "url": mcp_test_server.url, "token": TOKEN},
                              format="json").json()
    tested = owner_client.post(f"{servers_url(world)}/{added['id']}/test")
    assert tested.status_code == 200
    body = tested.json()
    assert body["ok"] is True and body["error"] == ""
    assert {"add", "echo", "boom"} <= {tool["name"] for tool in body["tools"]}
    assert mcp_test_server.headers[-1]["authorization"] == f"Bearer {TOKEN}"

    unreachable = owner_client.post(f"{servers_url(world)}/{world.mcp_server.pk}/test").json()
    assert unreachable["ok"] is False and unreachable["tools"] == []
    assert "MCP server 'tools'" in unreachable["error"]
    assert world.client("developer").post(f"{servers_url(world)}/{added['id']}/test").status_code == 403
