"""What a knowledge base is (docs/knowledge.md): a bot's KBs, their folders and their
sources, with the limits a builder meets when adding one. Indexing and search are the
runtime's (runtime/knowledge/); this module never parses, fetches or embeds.

Every refusal is a `KnowledgeError` whose `field` names what was wrong (`name`, `file`,
`url`...), so the REST API can answer 400 with the field."""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import PurePath

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.signals import post_delete
from django.dispatch import Signal

from flows.botfile.knowledge import (  # noqa: F401  (the limits and refusals, re-exported for the API)
    FOLDER,
    INLINE_DOCUMENT_BYTES,
    INLINE_TOTAL_BYTES,
    MAX_DOCUMENT_BYTES,
    MAX_SOURCES,
    MAX_TEXT_CHARS,
    MAX_URL_CHARS,
    NAME,
    TABLE_NAME,
    KnowledgeError,
    decoded,
    document_format,
    table_source_problem,
)
from flows.botfile.problems import BotFileInvalid, Problem, json_path
from flows.models import Bot, KnowledgeBase, KnowledgeSource

# flows never indexes: it says which sources want (re-)indexing and the runtime, which owns
# the Celery job (runtime/knowledge/jobs.py), listens. `sources` is a list of KnowledgeSource;
# the receiver queues them once the transaction that saved them commits.
indexing_wanted = Signal()


class UnknownKnowledgeBase(LookupError):
    pass


def clean_text(field: str, value, max_chars: int, *, required: bool = True) -> str:
    """A string field as given, or KnowledgeError naming it: not a string, empty when
    required, too long, or holding NUL (PostgreSQL text cannot)."""
    if not isinstance(value, str) or (required and not value.strip()):
        raise KnowledgeError(field, "must be a non-empty text" if required else "must be a text")
    if len(value) > max_chars:
        raise KnowledgeError(field, f"at most {max_chars} characters")
    if "\x00" in value:
        raise KnowledgeError(field, "must not contain the NUL character")
    return value


def _clean_name(name) -> str:
    if not isinstance(name, str) or not NAME.match(name.strip()):
        raise KnowledgeError("name", "1 to 64 letters, digits, spaces, '_', '.' or '-', starting with a letter or digit")
    return name.strip()


def _clean_folder(folder) -> str:
    folder = clean_text("folder", folder or "", 200, required=False).strip().strip("/")
    if folder and not FOLDER.match(folder):
        raise KnowledgeError("folder", "folder names separated by '/', each like a KB name")
    return folder


def list_knowledge_bases(bot: Bot) -> list[KnowledgeBase]:
    return list(bot.knowledge_bases.all())


def get_knowledge_base(bot: Bot, kb_id) -> KnowledgeBase:
    try:
        return bot.knowledge_bases.get(pk=int(kb_id))
    except (KnowledgeBase.DoesNotExist, TypeError, ValueError):
        raise UnknownKnowledgeBase(f"the bot has no knowledge base {kb_id!r}") from None


def create_knowledge_base(bot: Bot, *, name, description: str = "", folder: str = "") -> KnowledgeBase:
    name, folder = _clean_name(name), _clean_folder(folder)
    description = clean_text("description", description, 2000, required=False)
    try:
        with transaction.atomic():
            return KnowledgeBase.objects.create(bot=bot, name=name, description=description, folder=folder)
    except IntegrityError:
        raise KnowledgeError("name", f"the bot already has a knowledge base named {name!r}") from None


def update_knowledge_base(kb: KnowledgeBase, **changes) -> KnowledgeBase:
    if "name" in changes:
        kb.name = _clean_name(changes["name"])
    if "folder" in changes:
        kb.folder = _clean_folder(changes["folder"])
    if "description" in changes:
        kb.description = clean_text("description", changes["description"], 2000, required=False)
    try:
        with transaction.atomic():
            kb.save()
    except IntegrityError:
        raise KnowledgeError("name", f"the bot already has a knowledge base named {kb.name!r}") from None
    return kb


def _check_room(kb: KnowledgeBase) -> None:
    if kb.sources.count() >= MAX_SOURCES:
        raise KnowledgeError("sources", f"a knowledge base holds at most {MAX_SOURCES} sources")


def add_document(kb: KnowledgeBase, filename: str, content: bytes) -> KnowledgeSource:
    fmt = document_format(filename)
    if len(content) > MAX_DOCUMENT_BYTES:
        raise KnowledgeError("file", f"{filename!r} is {len(content)} bytes; a document is at most "
                                     f"{MAX_DOCUMENT_BYTES // (1024 * 1024)} MB")
    if not content:
        raise KnowledgeError("file", f"{filename!r} is empty")
    _check_room(kb)
    name = PurePath(filename).name.replace("\x00", "")[:400]
    return KnowledgeSource.objects.create(knowledge_base=kb, kind=KnowledgeSource.Kind.DOCUMENT,
                                          name=name, content=content, format=fmt, size=len(content),
                                          sha256=hashlib.sha256(content).hexdigest())


def add_text(kb: KnowledgeBase, name: str, text: str) -> KnowledgeSource:
    text = clean_text("text", text, MAX_TEXT_CHARS)
    name = clean_text("name", name, 400)
    _check_room(kb)
    return KnowledgeSource.objects.create(knowledge_base=kb, kind=KnowledgeSource.Kind.TEXT, name=name.strip(),
                                          text=text, format="txt")


def add_web_source(kb: KnowledgeBase, url: str, *, sitemap: bool = False, check_url=None) -> KnowledgeSource:
    """A web page (or a sitemap whose pages are all read) fetched when it is indexed.
    `check_url` is the outbound guard's save-time check (runtime/outbound.validate_url),
    passed in by the caller: flows does not reach the network."""
    url = clean_text("url", url, MAX_URL_CHARS + 100).strip()
    if len(url) > MAX_URL_CHARS:
        raise KnowledgeError("url", f"at most {MAX_URL_CHARS} characters")
    if not re.match(r"^https?://[^\s]+$", url, re.IGNORECASE):
        raise KnowledgeError("url", "must be an http or https URL")
    if check_url is not None:
        try:
            check_url(url)
        except ValueError as exc:
            raise KnowledgeError("url", f"{url}: {exc}") from None
    _check_room(kb)
    kind = KnowledgeSource.Kind.SITEMAP if sitemap else KnowledgeSource.Kind.URL
    return KnowledgeSource.objects.create(knowledge_base=kb, kind=kind, name=url[:400], url=url)


def add_table_source(kb: KnowledgeBase, table, columns=None, *, known_tables: dict | None = None) -> KnowledgeSource:
    """A table's rows as passages: the `columns` given (string columns) or, when none are,
    the table's searchable columns, read at index time. `known_tables` ({name: TableDef})
    checks the names now; the indexing job checks them again against the bot's draft."""
    if not isinstance(table, str) or not TABLE_NAME.match(table):
        raise KnowledgeError("table", "the name of one of the bot's tables")
    columns = [] if columns is None else columns
    if not isinstance(columns, list) or not all(isinstance(c, str) and TABLE_NAME.match(c) for c in columns):
        raise KnowledgeError("columns", "a list of the table's column names")
    if known_tables is not None:
        problem = table_source_problem(table, columns, known_tables)
        if problem:
            raise KnowledgeError(*problem)
    _check_room(kb)
    return KnowledgeSource.objects.create(knowledge_base=kb, kind=KnowledgeSource.Kind.TABLE, name=table,
                                          table=table, columns=columns)


def passages_changed(kb_id) -> None:
    """Call in the transaction that changes a KB's passages: processes reload its vectors."""
    KnowledgeBase.objects.filter(pk=kb_id).update(chunks_version=F("chunks_version") + 1)


def _source_deleted(sender, instance: KnowledgeSource, **kwargs) -> None:
    # Every way a source goes (the API, an import, a cascade from its KB or bot) takes its
    # passages with it; a KB deleted with it simply matches no row.
    passages_changed(instance.knowledge_base_id)


post_delete.connect(_source_deleted, sender=KnowledgeSource, dispatch_uid="knowledge-source-deleted")


def mark_for_reindex(source: KnowledgeSource) -> KnowledgeSource:
    """A new revision, queued: whatever task still works on an older one gives way. The
    source's current chunks stay searchable until the new ones are all ready."""
    KnowledgeSource.objects.filter(pk=source.pk).update(revision=F("revision") + 1,
                                                        status=KnowledgeSource.Status.QUEUED, error="")
    source.refresh_from_db()
    return source


def resolve(bot_id, names: list[str] | None, folder: str = "") -> list[int]:
    """The ids of the KBs a card searches: those named (all of the bot's when none are),
    narrowed to a folder and the folders under it."""
    kbs = KnowledgeBase.objects.filter(bot_id=bot_id)
    if names:
        kbs = kbs.filter(name__in=names)
    folder = (folder or "").strip("/")
    if folder:
        kbs = kbs.filter(Q(folder=folder) | Q(folder__startswith=folder + "/"))
    return list(kbs.values_list("pk", flat=True))


# ---- in the bot file (docs/bot-format.md, "Knowledge bases") ---------------------------------
#
# The database holds a bot's KBs (every version searches the same index), so the bot file's
# `knowledgeBases` is how they travel: import creates them (and queues their indexing),
# export writes them from the database, and the draft itself never keeps a copy that could
# drift from them. Documents travel inline (base64) while they are small; a larger one is
# named by its size and SHA-256 only, and must be uploaded again after an import elsewhere.

NOT_CARRIED = "not in the bot file ({size} bytes, over what an export carries): upload {name} again to index it"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _source_key(source: dict) -> tuple:
    """What makes two definitions the same source: an import keeps such a source (and its
    passages) instead of indexing it again."""
    kind = source["type"]
    if kind == "text":
        return kind, source["name"], source["text"]
    if kind in ("url", "sitemap"):
        return kind, source["url"]
    if kind == "table":
        return kind, source["table"], tuple(source.get("columns") or ())
    sha256 = source.get("sha256") or hashlib.sha256(decoded(source["content"]) or b"").hexdigest()
    return kind, source["name"], sha256


def _stored_key(source: KnowledgeSource) -> tuple:
    if source.kind == "text":
        return source.kind, source.name, source.text
    if source.kind in ("url", "sitemap"):
        return source.kind, source.url
    if source.kind == "table":
        return source.kind, source.table, tuple(source.columns or ())
    return source.kind, source.name, source.sha256


def _create_source(kb: KnowledgeBase, source: dict) -> KnowledgeSource:
    kind = source["type"]
    if kind == "text":
        return add_text(kb, source["name"], source["text"])
    if kind in ("url", "sitemap"):
        # The outbound guard checks the address again when the page is fetched; a refused
        # one fails the source with the reason (flows does not reach the network).
        return add_web_source(kb, source["url"], sitemap=kind == "sitemap")
    if kind == "table":
        return add_table_source(kb, source["table"], source.get("columns"))
    if "content" in source:
        return add_document(kb, source["name"], decoded(source["content"]))
    _check_room(kb)
    return KnowledgeSource.objects.create(
        knowledge_base=kb, kind=KnowledgeSource.Kind.DOCUMENT, name=source["name"],
        format=document_format(source["name"]), content=None, size=source["size"], sha256=source["sha256"],
        status=KnowledgeSource.Status.FAILED, error=NOT_CARRIED.format(size=source["size"], name=source["name"]))


def import_botfile(bot: Bot, entries: list[dict]) -> list[KnowledgeSource]:
    """The file's KBs into the bot (call inside the import's transaction, with entries the
    validator passed): a KB of the same name is updated, its sources become the file's (a
    source defined the same way is kept with its passages, the others go), and a KB the file
    does not name is left alone. New sources are queued for indexing (`indexing_wanted`)."""
    created = []
    for index, entry in enumerate(entries):
        try:
            created += _import_one(bot, entry)
        except KnowledgeError as exc:  # the validator passed the file: only the bot's state can refuse
            raise BotFileInvalid([Problem(json_path(["knowledgeBases", index]) + "." + exc.field, exc.message)]) \
                from None
    if created:
        indexing_wanted.send(sender=Bot, sources=created)
    return created


def _import_one(bot: Bot, entry: dict) -> list[KnowledgeSource]:
    created = []
    kb = bot.knowledge_bases.filter(name=entry["name"]).first()
    if kb is None:
        kb = create_knowledge_base(bot, name=entry["name"], description=entry.get("description", ""),
                                   folder=entry.get("folder", ""))
    else:
        update_knowledge_base(kb, description=entry.get("description", ""), folder=entry.get("folder", ""))
    existing: dict[tuple, list[KnowledgeSource]] = {}
    missing = set(kb.sources.filter(kind="document", content__isnull=True).values_list("pk", flat=True))
    for source in kb.sources.defer("content").all():
        # A document the bot does not have the bytes of matches no definition: a file
        # that carries them replaces it, one that names it makes the same placeholder.
        key = (*_stored_key(source), "missing") if source.pk in missing else _stored_key(source)
        existing.setdefault(key, []).append(source)
    wanted = []
    for source in entry.get("sources") or ():
        kept = existing.get(_source_key(source))
        if kept:
            kept.pop(0)
        else:
            wanted.append(source)
    stale = [s.pk for left in existing.values() for s in left]
    if stale:
        KnowledgeSource.objects.filter(pk__in=stale).delete()
    for source in wanted:
        made = _create_source(kb, source)
        if made.status == KnowledgeSource.Status.QUEUED:
            created.append(made)
    return created


def export_botfile(bot: Bot) -> list[dict]:
    """The bot's KBs as the bot file's `knowledgeBases`, in the order they were made, with
    the values equal to their defaults left out (as the rest of an export)."""
    out, budget = [], INLINE_TOTAL_BYTES
    for kb in bot.knowledge_bases.order_by("id"):
        entry: dict = {"name": kb.name}
        if kb.description:
            entry["description"] = kb.description
        if kb.folder:
            entry["folder"] = kb.folder
        sources = []
        for source in kb.sources.defer("content").order_by("id"):
            if source.kind == "text":
                sources.append({"type": "text", "name": source.name, "text": source.text})
            elif source.kind in ("url", "sitemap"):
                sources.append({"type": source.kind, "url": source.url})
            elif source.kind == "table":
                sources.append({"type": "table", "table": source.table, **({"columns": source.columns}
                                                                           if source.columns else {})})
            else:
                carried = source.size <= min(INLINE_DOCUMENT_BYTES, budget) and source.sha256
                content = carried and KnowledgeSource.objects.filter(pk=source.pk).values_list(
                    "content", flat=True).first()
                if content:
                    budget -= source.size
                    sources.append({"type": "document", "name": source.name,
                                    "content": base64.b64encode(bytes(content)).decode("ascii")})
                else:
                    sources.append({"type": "document", "name": source.name, "size": source.size,
                                    "sha256": source.sha256})
        if sources:
            entry["sources"] = sources
        out.append(entry)
    return out
