"""A workspace's LLM providers: OpenAI-compatible endpoints with an encrypted API key and
the models the workspace uses through them (docs/ai.md, "Providers")."""
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
