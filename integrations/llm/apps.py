from django.apps import AppConfig


class LLMConfig(AppConfig):
    name = "integrations.llm"
    label = "llm"
    verbose_name = "LLM providers"

    def ready(self):
        from runtime import llm_gateway

        from . import services

        # The runtime reaches the workspace's providers only through this seam (it never
        # imports integrations).
        llm_gateway.register_resolver(services.resolve)
