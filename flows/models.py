"""What a bot IS: its editable draft, its immutable published versions, its secret config values.

The draft holds the canonical bot document without `layout`; positions live apart so that
moving a box never changes the logic revision. Business operations (import, publish,
restore...) live in `flows.services`; these models only guard their own invariants.
"""
import uuid

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import models

from flows import encryption


class Bot(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("studio.Workspace", on_delete=models.CASCADE, related_name="bots")
    name = models.CharField(max_length=100)
    draft = models.JSONField(default=dict)
    layout = models.JSONField(default=dict, blank=True)
    # +1 on every logic change; the editor sends it back so concurrent edits are detected.
    draft_revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "created_at"]

    def __str__(self):
        return self.name

    def latest_version(self):
        return self.versions.order_by("-number").first()


class ImmutableRow(Exception):
    """Raised when code tries to change a published version."""


class BotVersionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRow("bot versions are immutable; publish a new version instead")

    def bulk_update(self, objs, fields, batch_size=None):
        raise ImmutableRow("bot versions are immutable; publish a new version instead")


class BotVersion(models.Model):
    """A published snapshot. Conversations pin to one, so it must never change after creation.

    Besides `save()`/`update()` refusing, migration 0002 installs a database trigger that
    rejects UPDATE on this table, so raw SQL cannot change a version either.
    """

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True, default="")
    # The intent model (utterance embeddings of library and inline intents), computed at
    # publish so that running this version never encodes an utterance; null when the bot
    # has no intents. Written with the row, immutable like it. Defer it in queries that do
    # not build the bot: it can be hundreds of kilobytes.
    intent_model = models.BinaryField(null=True, blank=True, editable=False)

    objects = BotVersionQuerySet.as_manager()

    class Meta:
        ordering = ["bot", "number"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "number"], name="botversion_unique_number"),
        ]

    def __str__(self):
        return f"{self.bot_id} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRow(f"bot version {self.number} is immutable; publish a new version instead")
        super().save(*args, **kwargs)


class ConfigValueUnreadable(Exception):
    """The stored value was encrypted with a key that is no longer configured."""


class ConfigValue(models.Model):
    """The value of a configuration variable (`env.NAME` in bot code) for one environment.

    Stored encrypted; never exported with the bot, never shown by repr or str.
    """

    DRAFT = "draft"
    PRODUCTION = "production"
    ENVIRONMENTS = [(DRAFT, "Draft (emulator)"), (PRODUCTION, "Production")]

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="config_values")
    name = models.CharField(max_length=100)
    environment = models.CharField(max_length=16, choices=ENVIRONMENTS)
    encrypted_value = models.TextField(editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    encrypted_fields = ("encrypted_value",)

    class Meta:
        ordering = ["bot", "name", "environment"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "name", "environment"], name="configvalue_unique_name"),
        ]

    @property
    def value(self) -> str:
        try:
            return encryption.decrypt(self.encrypted_value)
        except InvalidToken:
            raise ConfigValueUnreadable(
                f"config value {self.name!r} ({self.environment}) cannot be decrypted with the configured "
                "FLOWSTUDIO_ENCRYPTION_KEYS"
            ) from None

    @value.setter
    def value(self, clear_text: str):
        if not isinstance(clear_text, str):
            raise TypeError(f"config value {self.name!r} must be a string, got {type(clear_text).__name__}")
        self.encrypted_value = encryption.encrypt(clear_text)

    def __str__(self):
        return f"{self.name} ({self.environment})"

    def __repr__(self):
        return f"<ConfigValue {self.name} ({self.environment}) value=***>"


class TableRow(models.Model):
    """One row of one of a bot's tables (flows/tables, docs/tables.md). The table's columns
    are in the bot file; `data` holds the row's values by column name, already checked
    against them. Rows belong to the bot, not to a version: the draft and every published
    version read and write the same rows."""

    id = models.BigAutoField(primary_key=True)
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="table_rows")
    table = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bot", "table", "id"]
        indexes = [models.Index(fields=["bot", "table", "id"], name="tablerow_bot_table_id")]

    def __str__(self):
        return f"{self.table}#{self.pk}"


class KnowledgeBase(models.Model):
    """A bot's knowledge base (docs/knowledge.md): documents, web pages and free text that the
    Query Knowledge Bases card searches. Like table rows, it belongs to the bot, not to a
    version: every version of the bot searches the same, current, index."""

    id = models.BigAutoField(primary_key=True)
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="knowledge_bases")
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True, default="")
    # A slash-separated folder path ("Support/Billing"); "" is the top level. Cards may search
    # one folder (and those under it) instead of naming every KB.
    folder = models.CharField(max_length=200, blank=True, default="")
    # Goes up whenever the KB's passages change (an index swap, a source deleted): each
    # process keeps the KB's vectors keyed by it (runtime/knowledge/search.py), so a search
    # reads one small row to know they are current instead of counting the passages.
    chunks_version = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bot", "folder", "name"]
        constraints = [models.UniqueConstraint(fields=["bot", "name"], name="knowledgebase_bot_name")]

    def __str__(self):
        return self.name


class KnowledgeSource(models.Model):
    """One source of a knowledge base and where its indexing is. Uploaded files are kept
    (in `content`) so that a re-index never needs the upload again."""

    class Kind(models.TextChoices):
        DOCUMENT = "document"
        URL = "url"
        SITEMAP = "sitemap"
        TEXT = "text"
        TABLE = "table"

    class Status(models.TextChoices):
        QUEUED = "queued"
        PARSING = "parsing"
        EMBEDDING = "embedding"
        READY = "ready"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=400)
    # document: the file's bytes and its format (pdf, docx, html, md, txt); text: `text`;
    # url and sitemap: `url`; table: `table` and the `columns` read (empty: its searchable ones).
    content = models.BinaryField(null=True, blank=True, editable=False)
    format = models.CharField(max_length=8, blank=True, default="")
    # A document's size and SHA-256: a bot file too large to carry a document names it by
    # these (docs/bot-format.md, "Knowledge bases"); its import keeps the document when the
    # bot already has the same bytes. `content` is None for such a document not uploaded yet.
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    url = models.URLField(max_length=2000, blank=True, default="")
    text = models.TextField(blank=True, default="")
    table = models.CharField(max_length=64, blank=True, default="")
    columns = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True, default="")
    chunk_count = models.PositiveIntegerField(default=0)
    # Bumped on each (re-)index request: a task that finds a newer one gives way to it.
    revision = models.PositiveIntegerField(default=1)
    indexed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["knowledge_base", "id"]

    def __str__(self):
        return self.name


class KnowledgeChunk(models.Model):
    """A passage of a source, as search finds it. `embedding` is the MiniLM vector as 384
    float16 values (768 bytes, runtime/knowledge/vectors.py). On PostgreSQL a stored generated
    column `search_vector` = to_tsvector('english', text) with a GIN index (migration 0006, not
    declared here: the database fills it) serves the full-text half of the search; on SQLite
    an FTS5 table `flows_knowledgechunk_fts` kept by triggers (migration 0007) does."""

    id = models.BigAutoField(primary_key=True)
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="chunks")
    source = models.ForeignKey(KnowledgeSource, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    text = models.TextField()
    # The page of a PDF (1-based); None where a source has no pages.
    page = models.PositiveIntegerField(null=True, blank=True)
    # The row of a table source (its `id`); None for other sources.
    row = models.PositiveBigIntegerField(null=True, blank=True)
    # Where in a web source the passage is (the page's URL for a sitemap's pages).
    location = models.CharField(max_length=2000, blank=True, default="")
    embedding = models.BinaryField(editable=False)

    class Meta:
        ordering = ["source", "position"]
        indexes = [models.Index(fields=["knowledge_base", "source"], name="kbchunk_kb_source")]

    def __str__(self):
        return f"{self.source_id}#{self.position}"
