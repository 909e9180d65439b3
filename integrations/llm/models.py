"""A workspace's LLM providers: OpenAI-compatible endpoints with an encrypted API key and
the models the workspace uses through them (docs/ai.md, "Providers"); its MCP servers, whose
tools agents may call (docs/ai.md, "MCP tools")."""
import json

from django.db import models

from flows import encryption


class LLMProvider(models.Model):
    class Kind(models.TextChoices):
        OPENAI = "openai", "OpenAI-compatible"

    workspace = models.ForeignKey("studio.Workspace", on_delete=models.CASCADE, related_name="llm_providers")
    # How bots and cards name it (`settings.llm.provider`, a card's model "acme/Best").
    name = models.SlugField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OPENAI)
    base_url = models.URLField(max_length=500)
    encrypted_api_key = models.TextField(blank=True, default="", editable=False)
    default_model = models.CharField(max_length=200, blank=True, default="")
    # The workspace's provider for bots that name none; at most one per workspace.
    is_default = models.BooleanField(default=False)
    timeout_seconds = models.FloatField(default=20.0)
    max_retries = models.PositiveSmallIntegerField(default=2)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # [{id, label, contextWindow, priceIn, priceOut}] (integrations/llm/client.parse_models).
    # Last: from here on `models` in this class body is the field, not django.db.models.
    models = models.JSONField(default=list, blank=True)

    encrypted_fields = ("encrypted_api_key",)

    class Meta:
        ordering = ["workspace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="llmprovider_unique_name"),
            models.UniqueConstraint(fields=["workspace"], condition=models.Q(is_default=True),
                                    name="llmprovider_one_default"),
        ]

    @property
    def api_key(self) -> str:
        return encryption.decrypt(self.encrypted_api_key) if self.encrypted_api_key else ""

    @api_key.setter
    def api_key(self, clear_text: str) -> None:
        self.encrypted_api_key = encryption.encrypt(clear_text) if clear_text else ""

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"<LLMProvider {self.name} {self.base_url} key=***>"


class MCPServer(models.Model):
    """A workspace's MCP server (streamable HTTP) whose tools an autonomous node or AI Task
    may offer the model, as "<name>.<tool>" (integrations/llm/mcp_tools.py; docs/ai.md,
    "MCP tools"). The bearer token and any extra headers are secrets: stored encrypted."""

    workspace = models.ForeignKey("studio.Workspace", on_delete=models.CASCADE, related_name="mcp_servers")
    # How nodes name it (a node's `mcpServers`, tool names "<name>.<tool>"): no dots.
    name = models.SlugField(max_length=64)
    url = models.URLField(max_length=500)
    encrypted_token = models.TextField(blank=True, default="", editable=False)
    # A JSON object {header: value}, encrypted as one text.
    encrypted_headers = models.TextField(blank=True, default="", editable=False)
    timeout_seconds = models.FloatField(default=10.0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    encrypted_fields = ("encrypted_token", "encrypted_headers")

    class Meta:
        ordering = ["workspace", "name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="mcpserver_unique_name")]

    @property
    def token(self) -> str:
        return encryption.decrypt(self.encrypted_token) if self.encrypted_token else ""

    @token.setter
    def token(self, clear_text: str) -> None:
        self.encrypted_token = encryption.encrypt(clear_text) if clear_text else ""

    @property
    def headers(self) -> dict[str, str]:
        return json.loads(encryption.decrypt(self.encrypted_headers)) if self.encrypted_headers else {}

    @headers.setter
    def headers(self, clear: dict[str, str]) -> None:
        self.encrypted_headers = encryption.encrypt(json.dumps(clear)) if clear else ""

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"<MCPServer {self.name} {self.url} token=*** headers=***>"
