"""Business operations on bots: import, export, publish, restore, layout, compiled builds.

Views, the REST API and the `bot` management command stay thin and call these. Every
operation that writes more than one row runs in one transaction, and anything that changes
the draft or numbers versions first locks the bot row, so two studio tabs or two publishes
cannot interleave.
"""
from __future__ import annotations

import copy
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from flows.botfile.canonical import canonical_bot
from flows.botfile.problems import BotFileInvalid, Problem
from flows.botfile.validate import parse_bot_file, validate_bot
from flows.models import Bot, BotVersion
from studio.models import Workspace

__all__ = [
    "AmbiguousBot",
    "BotFileInvalid",
    "BotNotFound",
    "LoadedBuild",
    "NotPublished",
    "StaleRevision",
    "UnknownVersion",
    "default_workspace",
    "export_bot",
    "find_bot",
    "get_build",
    "get_version_build",
    "import_bot",
    "publish",
    "replace_draft",
    "restore",
    "save_layout",
]


class StaleRevision(Exception):
    """The draft changed since the caller loaded it; reload and retry."""

    def __init__(self, current_revision: int):
        self.current_revision = current_revision
        super().__init__(f"the draft changed meanwhile (it is now at revision {current_revision}); reload it")


class NotPublished(Exception):
    def __init__(self, bot: Bot):
        self.bot = bot
        super().__init__(f"bot {bot.name!r} ({bot.id}) has no published version yet")


class UnknownVersion(Exception):
    def __init__(self, bot: Bot, number: int):
        super().__init__(f"bot {bot.name!r} has no version {number}")


class BotNotFound(Exception):
    pass


class AmbiguousBot(Exception):
    pass


def default_workspace() -> Workspace:
    workspace, _ = Workspace.objects.get_or_create(slug="default", defaults={"name": "Default"})
    return workspace


def find_bot(reference: str) -> Bot:
    """A bot by its id or, failing that, by its name (which must then be unique)."""
    try:
        bot_id = uuid.UUID(str(reference))
    except ValueError:
        bot_id = None
    if bot_id is not None:
        bot = Bot.objects.select_related("workspace").filter(pk=bot_id).first()
        if bot is not None:
            return bot
    matches = list(Bot.objects.select_related("workspace").filter(name=reference)[:10])
    if not matches:
        raise BotNotFound(f"no bot with id or name {reference!r}")
    if len(matches) > 1:
        ids = ", ".join(str(bot.id) for bot in matches)
        raise AmbiguousBot(f"{len(matches)} bots are named {reference!r}; use one of their ids: {ids}")
    return matches[0]


def _valid_document(text_or_dict: str | bytes | dict) -> dict:
    """The canonical document (with layout), or BotFileInvalid naming every problem."""
    if isinstance(text_or_dict, bytes):
        text_or_dict = text_or_dict.decode("utf-8")
    if isinstance(text_or_dict, str):
        doc = parse_bot_file(text_or_dict)
    elif isinstance(text_or_dict, dict):
        # The validator may fill defaults in place; the caller's dict stays theirs.
        doc = copy.deepcopy(text_or_dict)
    else:
        raise BotFileInvalid([Problem("$", f"a bot file is a JSON object, got {type(text_or_dict).__name__}")])
    return canonical_bot(doc)  # validates first: BotFileInvalid lists every problem


def _split_layout(document: dict) -> tuple[dict, dict]:
    draft = dict(document)
    layout = draft.pop("layout", None) or {}
    return draft, layout


def import_bot(text_or_dict: str | bytes | dict, *, workspace: Workspace | None, user=None) -> Bot:
    """A new bot from a bot file. Stores nothing when the file has any problem.

    `workspace=None` means the Default workspace, created only once the file is known good.
    """
    draft, layout = _split_layout(_valid_document(text_or_dict))
    with transaction.atomic():
        workspace = workspace or default_workspace()
        return Bot.objects.create(
            workspace=workspace, name=draft["name"], draft=draft, layout=layout, created_by=user
        )


def replace_draft(bot: Bot, text_or_dict: str | bytes | dict, *, base_revision: int | None, user=None) -> Bot:
    """Import into an existing bot: its draft (and layout) become the given document.

    `base_revision` is the revision the caller's copy was based on; if the draft moved on
    meanwhile this raises StaleRevision instead of silently overwriting someone's work.
    None skips the check (an explicit overwrite).
    """
    draft, layout = _split_layout(_valid_document(text_or_dict))
    with transaction.atomic():
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        if base_revision is not None and locked.draft_revision != base_revision:
            raise StaleRevision(locked.draft_revision)
        _write_draft(locked, draft, layout)
    _refresh_from(bot, locked)
    return bot


def _write_draft(locked: Bot, draft: dict, layout: dict) -> None:
    locked.draft = draft
    locked.layout = layout
    locked.name = draft["name"]
    locked.draft_revision += 1
    locked.save(update_fields=["draft", "layout", "name", "draft_revision", "updated_at"])


def _refresh_from(bot: Bot, source: Bot) -> None:
    for field in ("draft", "layout", "name", "draft_revision", "updated_at"):
        setattr(bot, field, getattr(source, field))


def _document(draft: dict, layout: dict) -> dict:
    return {**draft, "layout": layout}


def export_bot(bot: Bot, *, version: int | None = None) -> dict:
    """The canonical bot file: the draft with its layout, or a published version. Never config values."""
    if version is None:
        return canonical_bot(copy.deepcopy(_document(bot.draft, bot.layout)))
    found = bot.versions.filter(number=version).first()
    if found is None:
        raise UnknownVersion(bot, version)
    return canonical_bot(copy.deepcopy(found.definition))


def publish(bot: Bot, *, user=None, note: str = "") -> BotVersion:
    """Freeze the current draft as the next numbered version (1, 2, 3...), with its intent
    model (utterance embeddings) computed once, here, and stored with it."""
    _warm_intent_embeddings(bot)
    with transaction.atomic():
        # The row lock serialises publishes of one bot, so max+1 is never handed out twice.
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        # Validated again: the validator may have learnt a rule since the draft was saved.
        definition = canonical_bot(copy.deepcopy(_document(locked.draft, locked.layout)))
        intent_model = _intent_model(definition)
        last = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
        return BotVersion.objects.create(bot=locked, number=last + 1, definition=definition, author=user, note=note,
                                         intent_model=intent_model)


def _intent_model(definition: dict) -> bytes | None:
    from runtime.engine import train_intent_model

    return train_intent_model(definition)


def _warm_intent_embeddings(bot: Bot) -> None:
    """Encode the draft's utterances before taking the bot's row lock, so the lock is held
    for cache lookups only (the encoder caches utterance embeddings per process)."""
    draft = Bot.objects.filter(pk=bot.pk).values_list("draft", flat=True).first()
    try:
        _intent_model(draft or {})
    except Exception:  # an invalid draft: the locked publish below reports it properly
        pass


def restore(bot: Bot, number: int, *, user=None) -> Bot:
    """Copy a published version into the draft (a logic change: the revision goes up)."""
    with transaction.atomic():
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        version = locked.versions.filter(number=number).first()
        if version is None:
            raise UnknownVersion(locked, number)
        draft, layout = _split_layout(copy.deepcopy(version.definition))
        _write_draft(locked, draft, layout)
    _refresh_from(bot, locked)
    return bot


def save_layout(bot: Bot, layout: dict) -> None:
    """Store node positions. Not a logic change: the draft revision stays as it is."""
    document = copy.deepcopy(_document(bot.draft, layout))
    problems = validate_bot(document)
    layout_problems = [problem for problem in problems if problem.path.startswith("$.layout")]
    if layout_problems:
        raise BotFileInvalid(layout_problems)
    if not problems:
        layout = canonical_bot(document)["layout"]
    # update() writes only `layout`, so it cannot race with a concurrent draft save.
    Bot.objects.filter(pk=bot.pk).update(layout=layout, updated_at=timezone.now())
    bot.layout = layout


@dataclass(frozen=True)
class LoadedBuild:
    build: Any  # runtime.engine.BotBuild
    version: BotVersion | None  # None for the draft
    key: str  # identifies the compiled content: "<bot id>:v<n>" or "<bot id>:draft:<revision>"


class _BuildCache:
    """A small per-process LRU of compiled builds.

    Keys name immutable content (a version number, or a draft revision, which goes up on
    every logic change), so entries never need invalidating; old ones just fall out.
    """

    def __init__(self, size: int = 32):
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            build = self._items.get(key)
            if build is not None:
                self._items.move_to_end(key)
            return build

    def put(self, key: str, build) -> None:
        with self._lock:
            self._items[key] = build
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


build_cache = _BuildCache()


def _compile(definition: dict, *, intent_model: bytes | None = None):
    # Imported here: flows depends only on the compiler entry point, and only when running.
    from runtime.engine import compile_bot

    return compile_bot(definition, intent_model=intent_model)


def get_version_build(version: BotVersion) -> LoadedBuild:
    key = f"{version.bot_id}:v{version.number}"
    build = build_cache.get(key)
    if build is None:
        # The stored intent model is used as is; only a version published before models were
        # stored (or with other encoder weights) is trained here, once per process.
        build = _compile(version.definition, intent_model=version.intent_model)
        build_cache.put(key, build)
    return LoadedBuild(build=build, version=version, key=key)


def get_build(bot: Bot, *, draft: bool) -> LoadedBuild:
    """The compiled draft, or the latest published version (NotPublished if there is none).

    Reads the current revision / latest number from the database rather than trusting
    the caller's possibly stale `bot` object; the document itself is only loaded on a miss.
    """
    if not draft:
        version = (BotVersion.objects.filter(bot_id=bot.pk).defer("definition", "intent_model")
                   .order_by("-number").first())
        if version is None:
            raise NotPublished(bot)
        return get_version_build(version)
    revision = Bot.objects.filter(pk=bot.pk).values_list("draft_revision", flat=True).first()
    if revision is None:
        raise BotNotFound(f"bot {bot.pk} no longer exists")
    key = f"{bot.pk}:draft:{revision}"
    build = build_cache.get(key)
    if build is None:
        current = Bot.objects.filter(pk=bot.pk).values("draft", "layout", "draft_revision").first()
        if current is None:
            raise BotNotFound(f"bot {bot.pk} no longer exists")
        # The revision may have moved between the two reads; key the build by what was compiled.
        key = f"{bot.pk}:draft:{current['draft_revision']}"
        build = _compile(_document(current["draft"], current["layout"]))
        build_cache.put(key, build)
    return LoadedBuild(build=build, version=None, key=key)
