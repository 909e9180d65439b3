"""A workspace's LLM providers changed by people in the studio: saved through
integrations.llm's own service (which validates and encrypts the key) and audited by
studio.workspace_secrets, on the people's side, so `integrations` never writes audit
entries (docs/architecture.md). The log says which fields changed, never the key."""
from __future__ import annotations

import logging

from django.conf import settings

from flows import services as flow_services
from flows.botfile.problems import Problem, json_path
from integrations.llm import demo, services
from integrations.llm.models import LLMProvider
from studio.people.models import Workspace
from studio.workspace_secrets import SecretConnections

logger = logging.getLogger(__name__)

ProviderInvalid = services.ProviderInvalid


def _changed(data: dict) -> dict:
    fields = sorted(field for field in data if field != "api_key")
    return {"fields": fields, **({"key": "removed" if not data["api_key"] else "replaced"}
                                 if "api_key" in data else {})}


PROVIDERS = SecretConnections(
    LLMProvider, save=lambda workspace, data, existing: services.save_provider(workspace, data, provider=existing),
    invalid=ProviderInvalid, action="llm_provider", noun="a provider", changed=_changed)
providers_of, provider_of = PROVIDERS.of, PROVIDERS.get
add_provider, change_provider, remove_provider = PROVIDERS.add, PROVIDERS.change, PROVIDERS.remove


def start_demo() -> LLMProvider | None:
    """FLOWSTUDIO_LLM_DEMO: start this process's demo LLM and make it the provider "demo" of
    FLOWSTUDIO_LLM_DEMO_WORKSPACE (run-studio.sh passes the first owner's workspace), else of
    the Default workspace. Not audited: no person did it."""
    slug = settings.FLOWSTUDIO_LLM_DEMO_WORKSPACE
    workspace = Workspace.objects.filter(slug=slug).first() if slug else None
    if workspace is None:
        if slug:
            logger.warning("FLOWSTUDIO_LLM_DEMO_WORKSPACE: no workspace %r; using the Default workspace", slug)
        workspace = flow_services.default_workspace()
    try:
        provider = demo.register(workspace)
    except ProviderInvalid as exc:
        # The studio still starts; only the demo is missing (e.g. the workspace has 20 providers).
        logger.warning("the demo LLM is not registered in the workspace %s: %s", workspace.slug, exc)
        return None
    logger.info("demo LLM at %s is the provider %r of the workspace %s", provider.base_url, provider.name,
                workspace.slug)
    return provider


# ---- what the editor shows and the publish check -------------------------------------------

def _ai_steps(document) -> list[tuple[str, str]]:
    """(JSON path, what) of every part of the bot that calls a model: AI cards (types
    starting with ai_) and autonomous nodes."""
    found = []
    flows = document.get("flows") if isinstance(document, dict) else None
    for fi, flow in enumerate(flows if isinstance(flows, list) else []):
        nodes = flow.get("nodes") if isinstance(flow, dict) else None
        for ni, node in enumerate(nodes if isinstance(nodes, list) else []):
            if not isinstance(node, dict):
                continue
            if node.get("kind") == "autonomous":
                found.append((json_path(["flows", fi, "nodes", ni]), f"autonomous node {node.get('id')!r}"))
            cards = node.get("cards")
            for ci, card in enumerate(cards if isinstance(cards, list) else []):
                if isinstance(card, dict) and str(card.get("type") or "").startswith("ai_"):
                    found.append((json_path(["flows", fi, "nodes", ni, "cards", ci]),
                                  f"{card.get('type')} card {card.get('id')!r}"))
    return found


def _bot_provider(document) -> str:
    settings_ = document.get("settings") if isinstance(document, dict) else None
    chosen = settings_.get("llm") if isinstance(settings_, dict) else None
    name = chosen.get("provider") if isinstance(chosen, dict) else None
    return name if isinstance(name, str) else ""


def provider_problems(workspace, document) -> list[Problem]:
    """What stops the bot's AI cards from answering that the bot file alone cannot show (the
    validator does not know the workspace): no provider at all, or a bot provider
    (settings.llm.provider) the workspace does not have. Errors: they block publishing."""
    steps = _ai_steps(document)
    if not steps:
        return []
    names = sorted(LLMProvider.objects.filter(workspace=workspace).values_list("name", flat=True))
    if not names:
        return [Problem(path, f"{what} needs an LLM provider and the workspace {workspace.name!r} has none: "
                              "an owner or administrator adds one (docs/ai.md, \"Providers\")")
                for path, what in steps]
    chosen = _bot_provider(document)
    if chosen and chosen not in names:
        return [Problem("$.settings.llm.provider", f"the workspace has no LLM provider named {chosen!r}; "
                                                   f"it has {', '.join(names)}")]
    return []


def model_choices(workspace) -> dict:
    """What the AI cards' model picker offers: every provider of the workspace with its models
    and which is the default (the editor writes a model of the bot's provider, settings.llm.provider
    or else the workspace's default, by label alone, the others as "<provider>/<label>")."""
    providers = list(LLMProvider.objects.filter(workspace=workspace))
    defaults = [p.name for p in providers if p.is_default]
    listed = []
    for provider in providers:
        config = services.config_of(provider)
        default_id = config.model("").id if (config.models or config.default_model) else ""
        # A provider that lists no models still serves its default one.
        models = list(config.models) or ([config.model("")] if default_id else [])
        listed.append({"name": provider.name, "models": [
            {"id": m.id, "label": m.label, "default": m.id == default_id} for m in models]})
    return {"providers": listed,
            "workspaceDefault": defaults[0] if defaults else (providers[0].name if len(providers) == 1 else "")}
