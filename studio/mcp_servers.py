"""A workspace's MCP servers changed by people in the studio (the REST API and the AI
settings page): saved through integrations.llm.mcp_tools, which validates and encrypts the
token and headers, and audited by studio.workspace_secrets. The log names the changed fields
and header names, never a token or header value."""
from __future__ import annotations

from integrations.llm import mcp_tools
from integrations.llm.models import MCPServer
from studio.workspace_secrets import SecretConnections

MCPServerInvalid = mcp_tools.MCPServerInvalid
MCPToolError = mcp_tools.MCPToolError


def _changed(data: dict) -> dict:
    details = {"fields": sorted(data)}
    if "token" in data:
        details["bearer"] = "replaced" if data["token"] else "removed"
    if isinstance(data.get("headers"), dict):
        details["header_names"] = sorted(str(name) for name in data["headers"])
    return details


SERVERS = SecretConnections(
    MCPServer, save=lambda workspace, data, existing: mcp_tools.save_mcp_server(workspace, data, server=existing),
    invalid=MCPServerInvalid, action="mcp_server", noun="an MCP server", changed=_changed)
servers_of, server_of = SERVERS.of, SERVERS.get
add_server, change_server, remove_server = SERVERS.add, SERVERS.change, SERVERS.remove


def test_server(server: MCPServer) -> dict:
    """Ask the server for its tools now (waits on this thread up to the server's timeout):
    {"ok": True, "tools": [{"name", "description"}]} or {"ok": False, "error": why}."""
    try:
        specs = mcp_tools.server_tools(server)
    except MCPToolError as exc:
        return {"ok": False, "error": str(exc), "tools": []}
    prefix = server.name + "."
    return {"ok": True, "error": "", "tools": [{"name": spec.name.removeprefix(prefix), "description": spec.description}
                                               for spec in specs]}
