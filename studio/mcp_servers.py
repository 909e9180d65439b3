"""A workspace's MCP servers changed by people in the studio (the REST API and the AI
settings page): saved through integrations.llm.mcp_tools, which validates and encrypts the
token and headers, and recorded in the workspace's audit log here, on the people's side
(as studio/llm_providers.py does for providers). The log names the changed fields and header
names, never a token or header value."""
from __future__ import annotations

from django.db import IntegrityError, transaction

from integrations.llm import mcp_tools
from integrations.llm.models import MCPServer
from studio.people import audit

MCPServerInvalid = mcp_tools.MCPServerInvalid
MCPToolError = mcp_tools.MCPToolError


def servers_of(workspace) -> list[MCPServer]:
    return list(MCPServer.objects.filter(workspace=workspace))


def server_of(workspace, server_id) -> MCPServer | None:
    return MCPServer.objects.filter(workspace=workspace, pk=server_id).first()


def _changed(data) -> dict:
    if not isinstance(data, dict):
        return {}
    details = {"fields": sorted(data)}
    if "token" in data:
        details["bearer"] = "replaced" if data["token"] else "removed"
    if isinstance(data.get("headers"), dict):
        details["header_names"] = sorted(str(name) for name in data["headers"])
    return details


def add_server(workspace, data: dict, *, user) -> MCPServer:
    try:
        with transaction.atomic():
            server = mcp_tools.save_mcp_server(workspace, data)
            audit.record(actor=user, workspace=workspace, action="mcp_server.create", target=server,
                         details=_changed(data))
    except IntegrityError:
        # Two saves of the same name at once: the second loses on the unique constraint.
        raise MCPServerInvalid("name", f"the workspace already has an MCP server named {data.get('name')!r}") from None
    return server


def change_server(server: MCPServer, data: dict, *, user) -> MCPServer:
    try:
        with transaction.atomic():
            server = mcp_tools.save_mcp_server(server.workspace, data, server=server)
            audit.record(actor=user, workspace=server.workspace, action="mcp_server.update", target=server,
                         details=_changed(data))
    except IntegrityError:
        raise MCPServerInvalid("name", f"the workspace already has an MCP server named {data.get('name')!r}") from None
    return server


def remove_server(server: MCPServer, *, user) -> None:
    with transaction.atomic():
        audit.record(actor=user, workspace=server.workspace, action="mcp_server.delete", target=server,
                     details={"name": server.name})
        server.delete()


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
