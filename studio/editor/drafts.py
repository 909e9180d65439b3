"""Saving the editor's working draft, problems and all.

The editor autosaves what the builder has on screen, and a bot under construction is
usually not valid yet: a card just dropped has no text, a new flow has no exit, a
transition points at a node deleted a moment ago. `flows.services.replace_draft` (imports,
the REST API) refuses such documents; the editor must not, or work would be lost. So a
working draft is stored as long as its skeleton is usable (the editor and the validator can
walk it); the validator's problems are returned to the problems panel, and publishing,
which validates again, is what refuses them.

A valid draft is stored in canonical form, exactly as `replace_draft` would store it.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from django.db import transaction

from flows.botfile.canonical import canonical_bot
from flows.botfile.problems import BotFileInvalid, Problem, json_path
from flows.botfile.schema import FORMAT
from flows.botfile.validate import input_problems, validate_bot
from flows.models import Bot
from flows.services import StaleRevision
from flows.versions_diff import diff_definitions

# A 300-node bot is about 150 KB; anything near this is not something the editor made.
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class SavedDraft:
    revision: int
    problems: list[Problem]


def skeleton_problems(doc) -> list[Problem]:
    """What stops a document from being stored as a working draft at all.

    Only the frame the editor navigates by: bot name, flows, nodes, cards, layout. Field
    values, references and rules are the validator's business and do not block saving.
    """
    if not isinstance(doc, dict):
        return [Problem("$", "a bot file is a JSON object")]
    problems = []
    if doc.get("format") != FORMAT:
        problems.append(Problem("$.format", f"must be {FORMAT!r}"))
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        problems.append(Problem("$.name", "the bot needs a name of 1 to 100 characters"))
    if "layout" in doc and not isinstance(doc["layout"], dict):
        problems.append(Problem("$.layout", "must be an object {flow: {node: [x, y]}}"))
    flows = doc.get("flows")
    if not isinstance(flows, list):
        return problems + [Problem("$.flows", "must be a list of flows")]
    for fi, flow in enumerate(flows):
        problems += _flow_skeleton(flow, ["flows", fi])
    return problems


def _flow_skeleton(flow, parts) -> list[Problem]:
    if not isinstance(flow, dict):
        return [Problem(json_path(parts), "a flow is an object")]
    problems = []
    if not isinstance(flow.get("name"), str):
        problems.append(Problem(json_path(parts + ["name"]), "a flow needs a name"))
    for key in ("variables", "nodes"):
        if key in flow and not isinstance(flow[key], list):
            problems.append(Problem(json_path(parts + [key]), "must be a list"))
    for ni, node in enumerate(flow.get("nodes") if isinstance(flow.get("nodes"), list) else []):
        where = parts + ["nodes", ni]
        if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not isinstance(node.get("kind"), str):
            problems.append(Problem(json_path(where), "a node is an object with a string id and kind"))
            continue
        cards = node.get("cards", [])
        if not isinstance(cards, list):
            problems.append(Problem(json_path(where + ["cards"]), "must be a list of cards"))
            continue
        for ci, card in enumerate(cards):
            if not isinstance(card, dict) or not isinstance(card.get("id"), str) or not isinstance(card.get("type"), str):
                problems.append(Problem(json_path(where + ["cards", ci]), "a card is an object with a string id and type"))
    return problems


def document_of(bot: Bot) -> dict:
    """The working draft as the editor edits it: the stored draft with its layout."""
    return {**copy.deepcopy(bot.draft), "layout": copy.deepcopy(bot.layout or {})}


def problems_of(document: dict) -> list[Problem]:
    return validate_bot(copy.deepcopy(document))


def save_draft(bot: Bot, document, *, base_revision: int | None) -> SavedDraft:
    """Store the editor's document as the bot's draft (a logic change: the revision goes up).

    Raises BotFileInvalid when the skeleton is unusable (nothing stored) and StaleRevision
    when the draft moved on since `base_revision`. Validation problems are returned, not
    raised.
    """
    # The input policy first: the checks after it recurse into the document.
    blocking = input_problems(document) or skeleton_problems(document)
    if not blocking and len(json.dumps(document)) > MAX_DOCUMENT_BYTES:
        blocking = [Problem("$", f"the bot file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB")]
    if blocking:
        raise BotFileInvalid(blocking)
    document = copy.deepcopy(document)
    problems = problems_of(document)
    if not problems:
        document = canonical_bot(document)
    layout = document.pop("layout", None) or {}
    with transaction.atomic():
        locked = Bot.objects.select_for_update().get(pk=bot.pk)
        if base_revision is not None and locked.draft_revision != base_revision:
            current = {**locked.draft, "layout": locked.layout}
            raise StaleRevision(locked.draft_revision, changes=diff_definitions({**document, "layout": layout}, current))
        locked.draft = document
        locked.layout = layout
        locked.name = document["name"].strip()
        locked.draft_revision += 1
        locked.save(update_fields=["draft", "layout", "name", "draft_revision", "updated_at"])
    for field in ("draft", "layout", "name", "draft_revision", "updated_at"):
        setattr(bot, field, getattr(locked, field))
    return SavedDraft(revision=locked.draft_revision, problems=problems)
