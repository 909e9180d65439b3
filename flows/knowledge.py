"""What a knowledge base is (docs/knowledge.md): a bot's KBs, their folders and their
sources, with the limits a builder meets when adding one. Indexing and search are the
runtime's (runtime/knowledge/); this module never parses, fetches or embeds.

Every refusal is a `KnowledgeError` whose `field` names what was wrong (`name`, `file`,
`url`...), so the REST API can answer 400 with the field."""
from __future__ import annotations

import re
from pathlib import PurePath

from django.db import IntegrityError, transaction

from flows.models import Bot, KnowledgeBase, KnowledgeSource

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # Botpress: 50 MB per document
MAX_SOURCES = 100  # Botpress: 100 documents per KB; here every kind of source counts
MAX_URL_CHARS = 350  # Botpress: "max 350 characters per URL"
MAX_TEXT_CHARS = 1_000_000
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
FOLDER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9 _.-]{0,63})(/[A-Za-z0-9][A-Za-z0-9 _.-]{0,63})*$")
# File name suffix -> the format the parser reads (runtime/knowledge/parsing.py).
FORMATS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".md": "md", ".markdown": "md",
           ".txt": "txt"}


class KnowledgeError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


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


def document_format(filename: str) -> str:
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in FORMATS:
        raise KnowledgeError("file", f"{filename!r}: the formats are PDF, DOCX, HTML, Markdown and TXT "
                                     "(.pdf, .docx, .html, .md, .txt)")
    return FORMATS[suffix]


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
                                          name=name, content=content, format=fmt)


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


def mark_for_reindex(source: KnowledgeSource) -> KnowledgeSource:
    """A new revision, queued: whatever task still works on an older one gives way. The
    source's current chunks stay searchable until the new ones are all ready."""
    KnowledgeSource.objects.filter(pk=source.pk).update(revision=source.revision + 1,
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
        from django.db.models import Q

        kbs = kbs.filter(Q(folder=folder) | Q(folder__startswith=folder + "/"))
    return list(kbs.values_list("pk", flat=True))
