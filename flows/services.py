"""Business operations on bots: create, import, export, edit, publish, restore, delete,
configuration variables, layout, compiled builds.

Views, the REST API and the `bot` management command stay thin and call these. Every
operation that writes more than one row runs in one transaction, and anything that changes
the draft or numbers versions first locks the bot row, so two studio tabs or two publishes
cannot interleave. Changes people make are written to the audit log (`studio.people.audit`) in the
same transaction; configuration values never reach it.
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

from flows import bot_templates, knowledge
from flows.botfile.canonical import canonical_bot, for_export
from flows.botfile.problems import BotFileInvalid, Problem
from flows.botfile.schema import TOP_LEVEL_KEYS
from flows.botfile.typeflow import errors as type_flow_errors
from flows.botfile.validate import input_problems, parse_bot_file, validate_bot
from flows.models import Bot, BotVersion, ConfigValue
from flows.versions_diff import diff_definitions, summary_text
from studio.people import audit
from studio.people.models import Workspace

__all__ = [
    "AmbiguousBot",
    "BotFileInvalid",
    "BotNotFound",
    "ConfigVariableExists",
    "InvalidChange",
    "LoadedBuild",
    "NotPublished",
    "StaleRevision",
    "UnknownConfigVariable",
    "UnknownVersion",
    "create_bot",
    "declare_config_variable",
    "default_workspace",
    "delete_bot",
    "delete_config_value",
    "draft_document",
    "draft_problems",
    "export_bot",
    "find_bot",
    "get_build",
    "get_version_build",
    "import_bot",
    "publish",
    "remove_config_variable",
    "replace_draft",
    "replace_variables",
    "restore",
    "save_layout",
    "set_config_value",
    "update_bot",
]


class StaleRevision(Exception):
    """The draft changed since the caller loaded it; reload and retry.

    `changes` (when the caller sent a whole document) is `diff_definitions(theirs, current)`:
    what the current draft has that the caller's copy does not.
    """

    def __init__(self, current_revision: int, *, changes: dict | None = None):
        self.current_revision = current_revision
        self.changes = changes
        super().__init__(f"the draft changed meanwhile (it is now at revision {current_revision}); reload it")


class InvalidChange(ValueError):
    """A change refused before it reaches the validator; `path` locates it in the request."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(message)


class UnknownConfigVariable(LookupError):
    pass


class ConfigVariableExists(ValueError):
    pass


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


def _valid_document(text_or_dict: str | bytes | dict, *, table_rows: dict | None = None,
                    knowledge_bases: list | None = None) -> dict:
    """The canonical document (with layout), or BotFileInvalid naming every problem.

    With `table_rows` (a dict to fill), the tables' `rows` of an export made with rows are
    taken out into it (index in `tables` -> rows): they go to the database, never the draft.
    The file's `knowledgeBases` never go into the draft either (the database holds a bot's
    KBs, flows/knowledge.py): they are taken out into `knowledge_bases` (a list to fill)."""
    if isinstance(text_or_dict, (bytes, str)):
        # parse_bot_file applies the input policy (UTF-8, depth, NUL, surrogates) with paths.
        doc = parse_bot_file(text_or_dict)
    elif isinstance(text_or_dict, dict):
        # Before the copy: deepcopy and the validator recurse, so depth is checked first.
        refused = input_problems(text_or_dict)
        if refused:
            raise BotFileInvalid(refused)
        # The validator may fill defaults in place; the caller's dict stays theirs.
        doc = copy.deepcopy(text_or_dict)
    else:
        raise BotFileInvalid([Problem("$", f"a bot file is a JSON object, got {type(text_or_dict).__name__}")])
    if table_rows is not None and isinstance(doc, dict) and isinstance(doc.get("tables"), list):
        for i, entry in enumerate(doc["tables"]):
            if isinstance(entry, dict) and "rows" in entry:
                table_rows[i] = entry.pop("rows")
    document = canonical_bot(doc)  # validates first: BotFileInvalid lists every problem
    if knowledge_bases is not None:
        knowledge_bases.extend(document["knowledgeBases"])
    document["knowledgeBases"] = []
    return document


def _split_layout(document: dict) -> tuple[dict, dict]:
    draft = dict(document)
    layout = draft.pop("layout", None) or {}
    return draft, layout


def import_bot(text_or_dict: str | bytes | dict, *, workspace: Workspace | None, user=None,
               _action: str = "bot.import") -> Bot:
    """A new bot from a bot file. Stores nothing when the file has any problem.

    `workspace=None` means the Default workspace, created only once the file is known good.
    """
    table_rows: dict = {}
    knowledge_bases: list = []
    draft, layout = _split_layout(_valid_document(text_or_dict, table_rows=table_rows,
                                                  knowledge_bases=knowledge_bases))
    with transaction.atomic():
        workspace = workspace or default_workspace()
        bot = Bot.objects.create(
            workspace=workspace, name=draft["name"], draft=draft, layout=layout, created_by=_person(user)
        )
        audit.record(actor=_person(user), workspace=workspace, action=_action, target=bot,
                     details={"name": bot.name})
        _import_table_rows(bot, draft, table_rows)
        knowledge.import_botfile(bot, knowledge_bases)
        return bot


def _import_table_rows(bot: Bot, draft: dict, table_rows: dict) -> None:
    """The rows of an export made with rows (`bot export --with-rows`), into the new bot's
    tables; a bad row refuses the whole import (BotFileInvalid, path `$.tables[i].rows[j]...`)."""
    from flows.tables import service as tables
    from flows.tables.definition import TableError, parse_definition

    for index, rows in sorted(table_rows.items()):
        try:
            tables.insert_rows(bot.pk, parse_definition(draft["tables"][index]), rows, ["tables", index, "rows"])
        except TableError as exc:
            raise BotFileInvalid([Problem(exc.path, exc.message)]) from None


def _person(user):
    """The user as an actor: anonymous callers (and the command line) are nobody."""
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def create_bot(workspace: Workspace, *, name: str, description: str = "", template: str = "blank", user=None) -> Bot:
    """A new bot from one of the templates of `flows.bot_templates` (examples/templates/):
    `blank` is a `main` flow whose start node leads straight to its end, and an `error` flow
    that tells the visitor something went wrong (so a failing turn is never silent, and the
    builder sees where to change what it says); every template has that error flow."""
    name = _clean_bot_name(name, path="$.name")
    if not isinstance(description, str):
        raise InvalidChange("$.description", "the description is text")
    try:
        document = bot_templates.template_document(template)
    except bot_templates.UnknownTemplate as exc:
        raise InvalidChange("$.template", str(exc)) from None
    document["name"] = name
    document["description"] = description or document.get("description", "")
    return import_bot(document, workspace=workspace, user=user, _action="bot.create")


def _clean_bot_name(name, *, path: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidChange(path, "the bot needs a name")
    name = name.strip()
    if len(name) > 100:
        raise InvalidChange(path, f"a bot name has at most 100 characters (this one has {len(name)})")
    return name


def update_bot(bot: Bot, *, name: str | None = None, description: str | None = None, user=None) -> Bot:
    """Rename the bot or change its description: a logic change of the draft (revision +1),
    allowed even while the rest of the draft is unfinished."""
    changes = {}
    if name is not None:
        changes["name"] = _clean_bot_name(name, path="$.name")
    if description is not None:
        if not isinstance(description, str):
            raise InvalidChange("$.description", "the description is text")
        changes["description"] = description
    if not changes:
        return bot
    with transaction.atomic():
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        draft = {**locked.draft, **changes}
        _write_draft(locked, draft, locked.layout)
        audit.record(actor=_person(user), workspace=locked.workspace, action="bot.update", target=locked,
                     details={"part": "details", "fields": sorted(changes), "revision": locked.draft_revision})
    _refresh_from(bot, locked)
    return bot


def delete_bot(bot: Bot, *, user=None) -> None:
    """The bot with its versions, conversations, users, states and configuration values."""
    with transaction.atomic():
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        audit.record(actor=_person(user), workspace=locked.workspace, action="bot.delete", target=locked,
                     details={"name": locked.name})
        locked.delete()


def draft_document(bot: Bot) -> dict:
    """The draft with its layout as stored: canonical when valid, as the editor left it when not."""
    return copy.deepcopy(_document(bot.draft, bot.layout))


def draft_problems(bot: Bot) -> list[Problem]:
    """What stops the draft from being published (empty when it is a valid bot file)."""
    return validate_bot(draft_document(bot))


def replace_draft(bot: Bot, text_or_dict: str | bytes | dict, *, base_revision: int | None, user=None) -> Bot:
    """Import into an existing bot: its draft (and layout) become the given document.

    `base_revision` is the revision the caller's copy was based on; if the draft moved on
    meanwhile this raises StaleRevision instead of silently overwriting someone's work.
    None skips the check (an explicit overwrite).
    """
    knowledge_bases: list = []
    document = _valid_document(text_or_dict, knowledge_bases=knowledge_bases)
    draft, layout = _split_layout(document)
    with transaction.atomic():
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        if base_revision is not None and locked.draft_revision != base_revision:
            raise StaleRevision(locked.draft_revision,
                                changes=diff_definitions(document, _document(locked.draft, locked.layout)))
        changes = diff_definitions(_document(locked.draft, locked.layout), document)
        _write_draft(locked, draft, layout)
        # The KBs the file names become the file's; the bot's other KBs stay as they are.
        knowledge.import_botfile(locked, knowledge_bases)
        audit.record(actor=_person(user), workspace=locked.workspace, action="bot.update", target=locked,
                     details={"part": "definition", "revision": locked.draft_revision,
                              "summary": summary_text(changes)})
    _refresh_from(bot, locked)
    return bot


def _patch_draft(bot: Bot, key: str, value, *, base_revision: int | None, user, part: str) -> Bot:
    """Replace one top-level section of the draft. Refuses problems inside that section
    (paths `$.<key>...`); problems elsewhere are the unfinished draft's and stay as they were.
    A draft that is valid afterwards is stored in canonical form."""
    with transaction.atomic():
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        if base_revision is not None and locked.draft_revision != base_revision:
            raise StaleRevision(locked.draft_revision)
        document = copy.deepcopy({**_document(locked.draft, locked.layout), key: value})
        problems = validate_bot(document)
        own = [problem for problem in problems
               if problem.path == f"$.{key}" or problem.path.startswith((f"$.{key}[", f"$.{key}."))]
        if own:
            raise BotFileInvalid(own)
        if not problems:
            document = canonical_bot(document)
        draft, layout = _split_layout(document)
        _write_draft(locked, draft, layout)
        audit.record(actor=_person(user), workspace=locked.workspace, action="bot.update", target=locked,
                     details={"part": part, "revision": locked.draft_revision})
    _refresh_from(bot, locked)
    return bot


def patch_draft_section(bot: Bot, key: str, value, *, user=None, part: str) -> Bot:
    """Replace one top-level section of the draft (e.g. `tables`, by flows/tables/service.py);
    BotFileInvalid for problems inside it, paths `$.<key>...`."""
    return _patch_draft(bot, key, value, base_revision=None, user=user, part=part)


def replace_variables(bot: Bot, variables, *, base_revision: int | None, user=None) -> Bot:
    """The bot-level (user and bot scope) variable declarations become `variables`."""
    return _patch_draft(bot, "variables", variables, base_revision=base_revision, user=user, part="variables")


# --- configuration variables ---------------------------------------------------------------

def _declared_config(bot: Bot) -> list:
    config = bot.draft.get("config")
    return config if isinstance(config, list) else []


def declare_config_variable(bot: Bot, name: str, *, description: str = "", user=None) -> Bot:
    """Add a configuration variable name to the draft (values are set per environment)."""
    if any(isinstance(item, dict) and item.get("name") == name for item in _declared_config(bot)):
        raise ConfigVariableExists(f"configuration variable {name!r} is already declared")
    entry = {"name": name, "description": description} if description else {"name": name}
    problems_at = len(_declared_config(bot))
    try:
        return _patch_draft(bot, "config", [*_declared_config(bot), entry], base_revision=None,
                            user=user, part="config")
    except BotFileInvalid as exc:
        # Point at the request's fields rather than at the draft's config list.
        prefix = f"$.config[{problems_at}]"
        raise BotFileInvalid([Problem(problem.path.replace(prefix, "$", 1), problem.message)
                              for problem in exc.problems]) from None


def remove_config_variable(bot: Bot, name: str, *, user=None) -> Bot:
    """Remove the name from the draft and delete its stored values in every environment."""
    remaining = [item for item in _declared_config(bot) if not (isinstance(item, dict) and item.get("name") == name)]
    if len(remaining) == len(_declared_config(bot)):
        raise UnknownConfigVariable(f"bot {bot.name!r} declares no configuration variable {name!r}")
    with transaction.atomic():
        _patch_draft(bot, "config", remaining, base_revision=None, user=user, part="config")
        for value in ConfigValue.objects.filter(bot=bot, name=name):
            audit.record(actor=_person(user), workspace=bot.workspace, action="config.delete", target=bot,
                         details={"name": name, "environment": value.environment})
            value.delete()
    return bot


def _require_declared(bot: Bot, name: str) -> None:
    if not any(isinstance(item, dict) and item.get("name") == name for item in _declared_config(bot)):
        raise UnknownConfigVariable(f"bot {bot.name!r} declares no configuration variable {name!r}")


def _check_environment(environment: str) -> str:
    known = [key for key, _ in ConfigValue.ENVIRONMENTS]
    if environment not in known:
        raise InvalidChange("$.environment", f"unknown environment {environment!r}; use one of {', '.join(known)}")
    return environment


def set_config_value(bot: Bot, name: str, environment: str, value: str, *, user=None) -> ConfigValue:
    """Store (encrypted) the value of a declared configuration variable for one environment."""
    _require_declared(bot, name)
    _check_environment(environment)
    if not isinstance(value, str):
        raise InvalidChange("$.value", "a configuration value is a string")
    with transaction.atomic():
        stored = ConfigValue.objects.select_for_update().filter(bot=bot, name=name, environment=environment).first()
        stored = stored or ConfigValue(bot=bot, name=name, environment=environment)
        stored.value = value
        stored.save()
        # The value itself never goes into the audit log.
        audit.record(actor=_person(user), workspace=bot.workspace, action="config.set", target=bot,
                     details={"name": name, "environment": environment})
    return stored


def delete_config_value(bot: Bot, name: str, environment: str, *, user=None) -> None:
    _check_environment(environment)
    with transaction.atomic():
        deleted, _ = ConfigValue.objects.filter(bot=bot, name=name, environment=environment).delete()
        if not deleted:
            raise UnknownConfigVariable(f"configuration variable {name!r} has no {environment} value")
        audit.record(actor=_person(user), workspace=bot.workspace, action="config.delete", target=bot,
                     details={"name": name, "environment": environment})


def _write_draft(locked: Bot, draft: dict, layout: dict) -> None:
    locked.draft = draft
    locked.layout = layout
    # An unfinished draft (the editor stores those) may lack a usable name; keep the old one.
    name = draft.get("name")
    locked.name = name.strip()[:100] if isinstance(name, str) and name.strip() else locked.name
    locked.draft_revision += 1
    locked.save(update_fields=["draft", "layout", "name", "draft_revision", "updated_at"])


def _refresh_from(bot: Bot, source: Bot) -> None:
    for field in ("draft", "layout", "name", "draft_revision", "updated_at"):
        setattr(bot, field, getattr(source, field))


def _document(draft: dict, layout: dict) -> dict:
    return {**draft, "layout": layout}


def export_bot(bot: Bot, *, version: int | None = None, with_rows: bool = False) -> dict:
    """The bot file: the draft with its layout, or a published version, in canonical form
    without the values equal to their defaults (`canonical.for_export`), so a file kept in
    git diffs by what the builder changed. Importing it fills them back. Never config values."""
    if version is None:
        document = for_export(copy.deepcopy(_document(bot.draft, bot.layout)))
    else:
        found = bot.versions.filter(number=version).first()
        if found is None:
            raise UnknownVersion(bot, version)
        document = for_export(copy.deepcopy(found.definition))
    # A bot's KBs belong to the bot, not to a version: every export carries the current ones.
    kbs = knowledge.export_botfile(bot)
    if kbs:
        document["knowledgeBases"] = kbs
        document = {key: document[key] for key in TOP_LEVEL_KEYS if key in document}
    return _with_table_rows(bot, document) if with_rows else document


def _with_table_rows(bot: Bot, document: dict) -> dict:
    """Each table's rows as `rows` (values only: ids and times are the database's), which
    `import_bot` puts into the new bot's tables (docs/tables.md, "In the bot file")."""
    from flows.tables import service as tables
    from flows.tables.definition import SYSTEM_COLUMNS, TableError, parse_definition

    for entry in document.get("tables") or ():
        try:
            table = parse_definition(entry)
        except TableError:
            continue
        rows, offset = [], 0
        while True:
            page = tables.find_rows(bot.pk, table, limit=tables.MAX_LIMIT, offset=offset)["rows"]
            rows += [{k: v for k, v in row.items() if k not in SYSTEM_COLUMNS} for row in page]
            if len(page) < tables.MAX_LIMIT:
                break
            offset += len(page)
        entry["rows"] = rows
    return document


def publish(bot: Bot, *, user=None, note: str = "") -> BotVersion:
    """Freeze the current draft as the next numbered version (1, 2, 3...), with its intent
    model (utterance embeddings) computed once, here, and stored with it."""
    _warm_intent_embeddings(bot)
    with transaction.atomic():
        # The row lock serialises publishes of one bot, so max+1 is never handed out twice.
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        # Validated again: the validator may have learnt a rule since the draft was saved.
        document = _document(locked.draft, locked.layout)
        definition = canonical_bot(copy.deepcopy(document))
        # A file with a type-flow error is a fine draft or import, but as a version it would
        # fail conversations (a Person capture into a string variable); paths as in the draft.
        flow_errors = type_flow_errors(document)
        if flow_errors:
            raise BotFileInvalid(flow_errors)
        intent_model = _intent_model(definition)
        last = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = BotVersion.objects.create(bot=locked, number=last + 1, definition=definition,
                                            author=_person(user), note=note,
                                            intent_model=intent_model)
        audit.record(actor=_person(user), workspace=locked.workspace, action="bot.publish", target=locked,
                     details={"version": version.number, "note": note[:200]})
        return version


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
        audit.record(actor=_person(user), workspace=locked.workspace, action="bot.restore", target=locked,
                     details={"version": number, "revision": locked.draft_revision})
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


def cached_version_build(version: BotVersion) -> LoadedBuild | None:
    """The version's build if this process has compiled it (no query: only the version's
    `bot_id` and `number` are read), else None."""
    build = build_cache.get(_version_key(version))
    return LoadedBuild(build=build, version=version, key=_version_key(version)) if build is not None else None


def get_version_build(version: BotVersion) -> LoadedBuild:
    found = cached_version_build(version)
    if found is not None:
        return found
    # The stored intent model is used as is; only a version published before models were
    # stored (or with other encoder weights) is trained here, once per process.
    build = _compile(version.definition, intent_model=version.intent_model)
    build_cache.put(_version_key(version), build)
    return LoadedBuild(build=build, version=version, key=_version_key(version))


def _version_key(version: BotVersion) -> str:
    return f"{version.bot_id}:v{version.number}"


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
