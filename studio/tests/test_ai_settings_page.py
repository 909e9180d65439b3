"""The workspace's AI settings page through Django's test client: providers and MCP servers
added, changed and removed by admins, read by everyone else, secrets never shown back, and
refusals shown next to their field."""
import pytest

from integrations.llm.mcp_testing import mcp_test_server  # noqa: F401  (fixture)
from integrations.llm.models import LLMProvider, MCPServer
from studio.people import workspaces
from studio.people.models import Membership, Role

pytestmark = pytest.mark.django_db
KEY = "sk-page-canary-4f6a8c0e2b"


@pytest.fixture
def ann(django_user_model):
    user = django_user_model.objects.create_user("ann@example.com", "ann@example.com", "a-long-pass-phrase-1")
    user.workspace = workspaces.create_workspace(user, "Acme")
    return user


@pytest.fixture
def signed_in(client, ann):
    client.force_login(ann)
    return client


def provider_post(**changes):
    data = {"name": "openai", "base_url": "https://api.openai.example/v1", "api_key": KEY,
            "models": "gpt-fast, Fast\ngpt-best, Best", "default_model": "Fast", "timeout_seconds": "20",
            "max_retries": "2"}
    data.update(changes)
    return {f"new-provider-{k}": v for k, v in data.items()}


def test_an_owner_adds_a_provider_sees_key_set_and_an_edit_without_the_key_keeps_it(signed_in):
    added = signed_in.post("/w/acme/ai/providers/add/", provider_post())
    assert added.status_code == 302
    provider = LLMProvider.objects.get()
    assert provider.api_key == KEY and [m["label"] for m in provider.models] == ["Fast", "Best"]
    page = signed_in.get("/w/acme/ai/").content.decode()
    assert "key set" in page and KEY not in page

    prefix = f"p{provider.pk}-"
    edit = {prefix + k: v for k, v in {"name": "openai", "base_url": "https://api.openai.example/v1", "api_key": "",
                                       "models": "gpt-fast, Fast\ngpt-best, Best", "default_model": "Best",
                                       "timeout_seconds": "15", "max_retries": "1"}.items()}
    assert signed_in.post(f"/w/acme/ai/providers/{provider.pk}/", edit, HTTP_HX_REQUEST="true").status_code == 200
    provider.refresh_from_db()
    assert (provider.api_key, provider.default_model, provider.timeout_seconds) == (KEY, "Best", 15.0)

    assert signed_in.post(f"/w/acme/ai/providers/{provider.pk}/delete/").status_code == 302
    assert not LLMProvider.objects.exists()


def test_a_refused_provider_shows_the_reason_next_to_the_field(signed_in):
    refused = signed_in.post("/w/acme/ai/providers/add/", provider_post(name="has space", timeout_seconds="90"),
                             HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "1 to 64 letters, digits, - or _" in html
    assert 'id="id_new-provider-name"' in html and KEY not in html
    assert not LLMProvider.objects.exists()


def test_make_default_moves_the_default(signed_in):
    signed_in.post("/w/acme/ai/providers/add/", provider_post(is_default="on"))
    signed_in.post("/w/acme/ai/providers/add/", provider_post(name="other"))
    other = LLMProvider.objects.get(name="other")
    signed_in.post(f"/w/acme/ai/providers/{other.pk}/default/")
    assert list(LLMProvider.objects.filter(is_default=True).values_list("name", flat=True)) == ["other"]


def test_other_members_read_the_page_but_cannot_change_it(client, ann, django_user_model):
    signed = client
    signed.force_login(ann)
    signed.post("/w/acme/ai/providers/add/", provider_post())
    dev = django_user_model.objects.create_user("dev@example.com", "dev@example.com", "a-long-pass-phrase-1")
    Membership.objects.create(workspace=ann.workspace, user=dev, role=Role.DEVELOPER)
    client.force_login(dev)
    page = client.get("/w/acme/ai/")
    assert page.status_code == 200 and "openai" in page.content.decode()
    assert "Add provider" not in page.content.decode()
    assert client.post("/w/acme/ai/providers/add/", provider_post(name="mine")).status_code == 403
    assert client.post("/w/acme/ai/mcp/add/", {"new-server-name": "x"}).status_code == 403


def test_an_mcp_server_is_added_tested_and_its_secrets_kept(signed_in, mcp_test_server):  # noqa: F811
    added = signed_in.post("/w/acme/ai/mcp/add/", {"new-server-name": "local", "new-server-url": mcp_test_server.url,
                                                  "new-server-token": "t0ken-canary",
                                                  "new-server-headers": "X-Tenant: acme",
                                                  "new-server-timeout_seconds": "5"})
    assert added.status_code == 302
    server = MCPServer.objects.get()
    assert (server.token, server.headers) == ("t0ken-canary", {"X-Tenant": "acme"})
    page = signed_in.get("/w/acme/ai/").content.decode()
    assert "token set" in page and "X-Tenant" in page and "t0ken-canary" not in page

    tested = signed_in.post(f"/w/acme/ai/mcp/{server.pk}/test/", HTTP_HX_REQUEST="true").content.decode()
    assert "<code" in tested and "echo" in tested and "add" in tested

    prefix = f"m{server.pk}-"
    kept = signed_in.post(f"/w/acme/ai/mcp/{server.pk}/", {prefix + "name": "local", prefix + "url": mcp_test_server.url,
                                                          prefix + "token": "", prefix + "headers": "",
                                                          prefix + "timeout_seconds": "7"})
    assert kept.status_code == 302
    server.refresh_from_db()
    assert (server.token, server.headers, server.timeout_seconds) == ("t0ken-canary", {"X-Tenant": "acme"}, 7.0)

    bad = signed_in.post(f"/w/acme/ai/mcp/{server.pk}/", {prefix + "name": "local", prefix + "url": "ftp://nowhere",
                                                         prefix + "timeout_seconds": "7"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "http or https" in bad.content.decode()


def test_a_failing_test_says_why(signed_in):
    signed_in.post("/w/acme/ai/mcp/add/", {"new-server-name": "gone", "new-server-url": "https://mcp.example.invalid/mcp",
                                          "new-server-timeout_seconds": "2"})
    server = MCPServer.objects.get()
    tested = signed_in.post(f"/w/acme/ai/mcp/{server.pk}/test/", HTTP_HX_REQUEST="true").content.decode()
    assert "MCP server &#x27;gone&#x27;" in tested and 'role="alert"' in tested


def test_a_wrong_model_line_is_named_by_its_line(signed_in):
    refused = signed_in.post("/w/acme/ai/providers/add/",
                             provider_post(models="gpt-fast, Fast\ngpt-best, " + "x" * 60), HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "Line 2, the name after the comma: a text of at most 50 characters" in refused.content.decode()
