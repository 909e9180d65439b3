"""The workspace's AI settings page: its LLM providers and MCP servers (docs/ai.md).

Every member sees them; owners and administrators (studio.manage_llm_providers) add, change,
remove and test them. Saves go through studio.llm_providers and studio.mcp_servers, which
validate, encrypt the secrets and write the audit log; a refusal names the field and is
shown next to it. With htmx a section answers its own fragment (400 with the errors)."""
import re
from dataclasses import dataclass
from typing import Any, Callable

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations.llm.mcp_tools import describe_mcp_server
from integrations.llm.services import describe
from studio import llm_providers, mcp_servers
from studio.forms import MCPServerForm, ProviderForm
from studio.permissions import can
from studio.views.access import workspace_page
from studio.workspace_secrets import SecretConnections

MANAGE = "studio.manage_llm_providers"


def _provider_form(provider: dict, data=None) -> ProviderForm:
    initial = {key: provider[key] for key in ("name", "base_url", "default_model", "is_default",
                                              "timeout_seconds", "max_retries")}
    initial["models"] = ProviderForm.models_text(provider["models"])
    return ProviderForm(data, initial=initial, editing=True, has_key=provider["has_api_key"],
                        prefix=f"p{provider['id']}")


def _server_form(server: dict, data=None) -> MCPServerForm:
    initial = {key: server[key] for key in ("name", "url", "timeout_seconds")}
    return MCPServerForm(data, initial=initial, editing=True, has_token=server["has_token"],
                         header_names=server["header_names"], prefix=f"m{server['id']}")


def _context(request, workspace, *, provider_forms=None, server_forms=None, add_provider=None, add_server=None,
             tested=None):
    provider_forms, server_forms = provider_forms or {}, server_forms or {}
    providers = []
    for provider in llm_providers.providers_of(workspace):
        described = describe(provider)
        form = provider_forms.get(provider.pk)
        providers.append({**described, "form": form or _provider_form(described), "open": form is not None})
    servers = []
    for server in mcp_servers.servers_of(workspace):
        described = describe_mcp_server(server)
        form = server_forms.get(server.pk)
        servers.append({**described, "form": form or _server_form(described), "open": form is not None,
                        "tested": (tested or {}).get(server.pk)})
    return {
        "can_manage": can(request.user, MANAGE, workspace),
        "providers": providers, "servers": servers,
        "add_provider": add_provider or ProviderForm(prefix="new-provider"),
        "add_provider_open": add_provider is not None,
        "add_server": add_server or MCPServerForm(prefix="new-server"),
        "add_server_open": add_server is not None,
    }


def _answer(request, workspace, section: str, *, failed=False, **kwargs):
    """The section's fragment for htmx, else the whole page (400 with the errors) or a redirect."""
    if request.htmx:
        template = "studio/_ai_providers.html" if section == "providers" else "studio/_ai_mcp.html"
        return render(request, template, _context(request, workspace, **kwargs), status=400 if failed else 200)
    if failed:
        return render(request, "studio/ai_settings.html", _context(request, workspace, **kwargs), status=400)
    return redirect("studio:ai_settings", slug=workspace.slug)


# "[1].id: ..." (integrations/llm/client.parse_models) is line 2 of the page's models text.
_MODELS_ENTRY = re.compile(r"^\[(\d+)\](?:\.([A-Za-z]+))?: (.*)$", re.S)
_MODEL_PARTS = {"id": "the model id", "label": "the name after the comma"}


def _field_error(form, field: str, message: str):
    """A service's refusal under the field it names, as a sentence."""
    head, _, rest = field.partition(".")
    if head == "models" and (entry := _MODELS_ENTRY.match(message)):
        part = _MODEL_PARTS.get(entry.group(2) or "", entry.group(2))
        message = f"line {int(entry.group(1)) + 1}{', ' + part if part else ''}: {entry.group(3)}"
    elif rest:
        message = f"{rest}: {message}"
    message = message[:1].upper() + message[1:]
    if head in form.fields:
        form.add_error(head, message)
    else:
        form.add_error(None, message if field == "(body)" else f"{field}: {message}")


@workspace_page()
def ai_settings(request, workspace):
    return render(request, "studio/ai_settings.html", _context(request, workspace))


@dataclass(frozen=True)
class _Section:
    """One section of the page: a kind of connection, its forms and its words."""
    name: str  # "providers" or "mcp": the fragment _answer renders
    connections: SecretConnections
    describe: Callable[[Any], dict]
    add_form: type
    edit_form: Callable[..., Any]  # (described, data) -> the row's form
    title: str  # "Provider", "MCP server"
    add_prefix: str  # the add form's field prefix
    add_key: str  # the _context keyword of a refused add form
    edit_key: str  # the _context keyword of refused row forms

    def row(self, workspace, pk):
        found = self.connections.get(workspace, pk)
        if found is None:
            raise Http404(f"no such {self.title}")
        return found

    def add(self, request, workspace):
        form = self.add_form(request.POST, prefix=self.add_prefix)
        if form.is_valid():
            try:
                row = self.connections.add(workspace, form.changes(), user=request.user)
            except self.connections.invalid as exc:
                _field_error(form, exc.field, exc.message)
            else:
                messages.success(request, f"{self.title} {row.name} added.")
                return _answer(request, workspace, self.name)
        return _answer(request, workspace, self.name, failed=True, **{self.add_key: form})

    def change(self, request, workspace, pk):
        row = self.row(workspace, pk)
        described = self.describe(row)
        form = self.edit_form(described, request.POST)
        if form.is_valid():
            try:
                row = self.connections.change(row, form.changes(described), user=request.user)
            except self.connections.invalid as exc:
                _field_error(form, exc.field, exc.message)
            else:
                messages.success(request, f"{self.title} {row.name} saved.")
                return _answer(request, workspace, self.name)
        return _answer(request, workspace, self.name, failed=True, **{self.edit_key: {row.pk: form}})

    def delete(self, request, workspace, pk):
        row = self.row(workspace, pk)
        name = row.name
        self.connections.remove(row, user=request.user)
        messages.success(request, f"{self.title} {name} removed.")
        return _answer(request, workspace, self.name)


PROVIDERS = _Section("providers", llm_providers.PROVIDERS, describe, ProviderForm, _provider_form, "Provider",
                     "new-provider", "add_provider", "provider_forms")
SERVERS = _Section("mcp", mcp_servers.SERVERS, describe_mcp_server, MCPServerForm, _server_form, "MCP server",
                   "new-server", "add_server", "server_forms")


def _on_post(action):
    return require_POST(workspace_page(MANAGE)(action))


add_provider = _on_post(PROVIDERS.add)
change_provider = _on_post(PROVIDERS.change)
delete_provider = _on_post(PROVIDERS.delete)
add_server = _on_post(SERVERS.add)
change_server = _on_post(SERVERS.change)
delete_server = _on_post(SERVERS.delete)


@require_POST
@workspace_page(MANAGE)
def make_default_provider(request, workspace, pk):
    provider = llm_providers.change_provider(PROVIDERS.row(workspace, pk), {"is_default": True}, user=request.user)
    messages.success(request, f"{provider.name} is now the workspace's default provider.")
    return _answer(request, workspace, "providers")


@require_POST
@workspace_page(MANAGE)
def test_server(request, workspace, pk):
    """Ask the server for its tools now; the answer waits up to the server's timeout."""
    server = SERVERS.row(workspace, pk)
    result = mcp_servers.test_server(server)
    if request.htmx:
        return render(request, "studio/_ai_mcp_test.html", {"tested": result, "server": server})
    return render(request, "studio/ai_settings.html", _context(request, workspace, tested={server.pk: result}))
