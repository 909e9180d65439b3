from django.apps import AppConfig


class LLMConfig(AppConfig):
    name = "integrations.llm"
    label = "llm"
    verbose_name = "LLM providers"

    def ready(self):
        from runtime import llm_gateway

        from . import mcp_tools, services

        # The runtime reaches the workspace's providers and MCP servers only through these
        # seams (it never imports integrations).
        llm_gateway.register_resolver(services.resolve)
        llm_gateway.register_tools_resolver(mcp_tools.resolve_tools)
