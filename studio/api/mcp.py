"""A workspace's MCP servers (`/api/v1/workspaces/{ws}/mcp-servers`), docs/ai.md "MCP tools".

As for providers (studio/api/llm.py): every member sees them, owners and administrators add,
change, remove and test them. The token and header values are write-only: answers say
`has_token` and `header_names`. The body goes to `integrations.llm.mcp_tools.save_mcp_server`
as it came so that an unknown field is refused, and its `MCPServerInvalid` names the field
as a JSON path."""
from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.response import Response

from integrations.llm.mcp_tools import describe_mcp_server
from studio import mcp_servers
from studio.api import errors
from studio.api.base import ApiView, operation


class MCPServerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="how nodes name it (`mcpServers`); its tools are \"<name>.<tool>\"")
    url = serializers.CharField(help_text="the streamable-HTTP MCP endpoint")
    has_token = serializers.BooleanField(help_text="whether a bearer token is stored (never returned)")
    header_names = serializers.ListField(child=serializers.CharField(),
                                         help_text="the names of the extra headers sent (values never returned)")
    timeout_seconds = serializers.FloatField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class MCPServerWriteSerializer(serializers.Serializer):
    """The schema of a create or change; the body is checked by save_mcp_server."""
    name = serializers.CharField(max_length=64, help_text="letters, digits, - and _ (no dots)")
    url = serializers.URLField(max_length=500, help_text="e.g. https://tools.example.com/mcp")
    token = serializers.CharField(required=False, allow_blank=True, max_length=4000, write_only=True,
                                  style={"input_type": "password"},
                                  help_text="sent as `Authorization: Bearer ...`; stored encrypted, never "
                                            "returned; on a change, omit it to keep the stored one, \"\" removes it")
    headers = serializers.DictField(child=serializers.CharField(), required=False, write_only=True,
                                    help_text="extra headers {name: value}, stored encrypted; on a change, omit "
                                              "them to keep the stored ones, {} removes them")
    timeout_seconds = serializers.FloatField(required=False, min_value=1, max_value=25)


class MCPServerListSerializer(serializers.Serializer):
    mcp_servers = MCPServerSerializer(many=True)


class ToolSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="the tool's name on the server; models see \"<server>.<name>\"")
    description = serializers.CharField(allow_blank=True)


class MCPTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True, help_text="why the server could not be asked, when not ok")
    tools = ToolSerializer(many=True)


def server_invalid(exc: mcp_servers.MCPServerInvalid) -> errors.ApiError:
    if exc.field == "(body)":
        path = "$"
    elif exc.field.startswith("headers."):
        # A header name may hold characters a dotted path cannot.
        name = exc.field.removeprefix("headers.").replace("\\", "\\\\").replace("'", "\\'")
        path = f"$.headers['{name}']"
    else:
        path = f"$.{exc.field}"
    where = path[2:] if path.startswith("$.") else "the body"
    return errors.invalid(f"{where}: {exc.message}", [errors.detail(path, exc.message)])


def _server(workspace, server_id):
    found = mcp_servers.server_of(workspace, server_id)
    if found is None:
        raise errors.not_found(f"{workspace.name} has no MCP server {server_id}")
    return found


class MCPServers(ApiView):
    permissions = {"GET": "studio.view_workspace", "POST": "studio.manage_llm_providers"}

    @operation(operation_id="listMCPServers", tags=["llm"], responses=MCPServerListSerializer)
    def get(self, request, workspace):
        workspace = self.workspace(workspace)
        return Response({"mcp_servers": [describe_mcp_server(s) for s in mcp_servers.servers_of(workspace)]})

    @operation(operation_id="addMCPServer", tags=["llm"], request=MCPServerWriteSerializer,
               responses={201: MCPServerSerializer},
               description="Add a streamable-HTTP MCP server. Owners and administrators only.")
    def post(self, request, workspace):
        workspace = self.workspace(workspace)
        try:
            server = mcp_servers.add_server(workspace, request.data, user=request.user)
        except mcp_servers.MCPServerInvalid as exc:
            raise server_invalid(exc) from None
        return Response(describe_mcp_server(server), status=status.HTTP_201_CREATED)


class MCPServerDetail(ApiView):
    permissions = {"GET": "studio.view_workspace", "PATCH": "studio.manage_llm_providers",
                   "DELETE": "studio.manage_llm_providers"}

    @operation(operation_id="getMCPServer", tags=["llm"], responses=MCPServerSerializer)
    def get(self, request, workspace, server_id):
        return Response(describe_mcp_server(_server(self.workspace(workspace), server_id)))

    @operation(operation_id="changeMCPServer", tags=["llm"], request=MCPServerWriteSerializer,
               responses=MCPServerSerializer,
               description="Change the fields given; without `token` or `headers` the stored ones are kept.")
    def patch(self, request, workspace, server_id):
        server = _server(self.workspace(workspace), server_id)
        try:
            server = mcp_servers.change_server(server, request.data, user=request.user)
        except mcp_servers.MCPServerInvalid as exc:
            raise server_invalid(exc) from None
        return Response(describe_mcp_server(server))

    @operation(operation_id="removeMCPServer", tags=["llm"], responses={204: None},
               description="Nodes that name it fail with a clear error until it is added again.")
    def delete(self, request, workspace, server_id):
        mcp_servers.remove_server(_server(self.workspace(workspace), server_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MCPServerTest(ApiView):
    permissions = {"POST": "studio.manage_llm_providers"}

    @operation(operation_id="testMCPServer", tags=["llm"], request=None, responses=MCPTestSerializer,
               description="Ask the server for its tools now (waits up to the server's timeout). A server "
                           "that cannot be reached is still a 200, with `ok: false` and the reason.")
    def post(self, request, workspace, server_id):
        return Response(mcp_servers.test_server(_server(self.workspace(workspace), server_id)))
