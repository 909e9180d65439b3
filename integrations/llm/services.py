"""Providers as the studio and the runtime use them: validated saves, the resolver the
runtime's gateway calls for a bot (runtime/llm_gateway.py), and the routing of one request to
the provider and model it names (docs/ai.md, "Providers")."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from runtime.engine.llm import LLMError, LLMRequest, LLMResponse

from .client import OpenAICompatible, ProviderConfig, models_json, parse_models
from .models import LLMProvider

MAX_PROVIDERS_PER_WORKSPACE = 20


class ProviderInvalid(ValueError):
    """A provider's settings are wrong; `field` names which."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def config_of(provider: LLMProvider) -> ProviderConfig:
    return ProviderConfig(name=provider.name, base_url=provider.base_url, api_key=provider.api_key,
                          models=parse_models(provider.models), default_model=provider.default_model,
                          timeout=provider.timeout_seconds, max_retries=provider.max_retries,
                          revision=f"{provider.pk}:{provider.updated_at.isoformat() if provider.updated_at else ''}")


class WorkspaceLLM:
    """An `AsyncLLM` over a workspace's providers: each request goes to the provider its
    model names ("<provider>/<model>"), else to `LLMRequest.provider` (the bot's choice),
    else to the workspace's default provider."""

    def __init__(self, configs: dict[str, ProviderConfig], default: str | None):
        self.configs, self.default = configs, default

    def route(self, request: LLMRequest) -> tuple[ProviderConfig, LLMRequest]:
        name = request.provider
        head, sep, rest = request.model.partition("/")
        if sep and head in self.configs:
            # A card's "<provider>/<model>" wins over the bot's provider (settings.llm.provider,
            # already in request.provider): the editor's model picker offers both.
            name, request = head, replace(request, model=rest)
        if not name:
            name = self.default
            if name is None:
                raise LLMError("the workspace has several LLM providers and none is the default: "
                               "choose one in the bot's settings (settings.llm.provider)")
        config = self.configs.get(name)
        if config is None:
            raise LLMError(f"the workspace has no LLM provider named {name!r}")
        return config, request

    async def complete(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> LLMResponse:
        config, request = self.route(request)
        return await OpenAICompatible(config).complete(request, on_token)


def _lookup(bot_id) -> WorkspaceLLM | None:
    providers = list(LLMProvider.objects.filter(workspace__bots=bot_id))
    if not providers:
        return None
    configs = {p.name: config_of(p) for p in providers}
    defaults = [p.name for p in providers if p.is_default]
    default = defaults[0] if defaults else (providers[0].name if len(providers) == 1 else None)
    return WorkspaceLLM(configs, default)


# The providers per bot, in this process. Every LLM turn asks for them, and the query (with
# the PostgreSQL connection it opens on an engine thread) cost more than the rest of the turn
# (docs/performance.md, "LLM turns"). A save or delete of any provider in this process drops
# the whole cache (rare, and a bot's workspace is not known without a query); other processes
# see the change within the TTL.
CACHE_TTL_SECONDS = 10.0
CACHE_MAX_BOTS = 2000


class _ProviderCache:
    def __init__(self, ttl: float = CACHE_TTL_SECONDS, size: int = CACHE_MAX_BOTS):
        self.ttl, self.size = ttl, size
        self._lock = threading.Lock()
        self._entries: OrderedDict[object, tuple[float, int, WorkspaceLLM | None]] = OrderedDict()
        # Bumped by every invalidation: a lookup that began before it is not stored, so a
        # save that lands while a turn queries never leaves the old settings cached.
        self._generation = 0

    def get(self, bot_id, lookup: Callable[[object], WorkspaceLLM | None]) -> WorkspaceLLM | None:
        key = str(bot_id)
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now and entry[1] == self._generation:
                self._entries.move_to_end(key)
                return entry[2]
            generation = self._generation
        value = lookup(bot_id)
        with self._lock:
            if generation == self._generation:
                self._entries[key] = (time.monotonic() + self.ttl, generation, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_cache = _ProviderCache()


def resolve(bot_id) -> WorkspaceLLM | None:
    """The providers of `bot_id`'s workspace; None when it has none. One query, or none while
    this process has them cached (up to CACHE_TTL_SECONDS, dropped when a provider is saved
    or deleted here)."""
    return _cache.get(bot_id, _lookup)


def forget_providers(**_kwargs) -> None:
    """Drop the cached providers of every bot: now, and again when the transaction that
    changed a provider commits (a turn may have looked up the old rows meanwhile)."""
    _cache.clear()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_cache.clear)


post_save.connect(forget_providers, sender=LLMProvider, dispatch_uid="llm-provider-cache-save")
post_delete.connect(forget_providers, sender=LLMProvider, dispatch_uid="llm-provider-cache-delete")


FIELDS = ("name", "base_url", "api_key", "models", "default_model", "is_default", "timeout_seconds", "max_retries")


def _check_url(value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise ProviderInvalid("base_url", "an http or https URL of at most 500 characters is required")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderInvalid("base_url", "must be an http or https URL, such as https://api.openai.com/v1")
    if parts.username or parts.password:
        raise ProviderInvalid("base_url", "must not carry a user name or password; use api_key")
    return value.strip().rstrip("/")


def save_provider(workspace, data: dict, provider: LLMProvider | None = None) -> LLMProvider:
    """Create (provider None) or update a provider from `data` (the REST API's fields);
    ProviderInvalid names the field that is wrong. An update without `api_key` keeps the
    stored key; `api_key: ""` removes it."""
    if not isinstance(data, dict):
        raise ProviderInvalid("(body)", "expected a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ProviderInvalid(unknown[0], f"unknown field; expected one of {', '.join(FIELDS)}")
    creating = provider is None
    provider = provider or LLMProvider(workspace=workspace)
    if creating or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name or len(name) > 64 or not all(
                c.isascii() and (c.isalnum() or c in "-_") for c in name):
            raise ProviderInvalid("name", "1 to 64 letters, digits, - or _ (bots and cards name the provider by it)")
        clash = LLMProvider.objects.filter(workspace=workspace, name=name).exclude(pk=provider.pk)
        if clash.exists():
            raise ProviderInvalid("name", f"the workspace already has a provider named {name!r}")
        provider.name = name
    if creating or "base_url" in data:
        provider.base_url = _check_url(data.get("base_url"))
    if "api_key" in data:
        key = data["api_key"]
        if not isinstance(key, str) or len(key) > 1000 or "\x00" in key:
            raise ProviderInvalid("api_key", "a text of at most 1000 characters")
        provider.api_key = key.strip()
    if "models" in data:
        try:
            provider.models = models_json(parse_models(data["models"]))
        except ValueError as exc:
            raise ProviderInvalid("models", str(exc).removeprefix("models").lstrip(": ") or str(exc)) from None
    if "default_model" in data:
        value = data["default_model"]
        if not isinstance(value, str) or len(value) > 200:
            raise ProviderInvalid("default_model", "a model id or label of at most 200 characters")
        provider.default_model = value.strip()
    if "timeout_seconds" in data:
        value = data["timeout_seconds"]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 1 <= value <= 25:
            # Below the turn lease (FLOWSTUDIO_TURN_LEASE_SECONDS, 30 s): a turn waiting on its
            # model must not look crashed to the recovery sweep.
            raise ProviderInvalid("timeout_seconds", "from 1 to 25 seconds")
        provider.timeout_seconds = float(value)
    if "max_retries" in data:
        value = data["max_retries"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 5:
            raise ProviderInvalid("max_retries", "a whole number from 0 to 5")
        provider.max_retries = value
    if "is_default" in data:
        if not isinstance(data["is_default"], bool):
            raise ProviderInvalid("is_default", "true or false")
        provider.is_default = data["is_default"]
    if creating and LLMProvider.objects.filter(workspace=workspace).count() >= MAX_PROVIDERS_PER_WORKSPACE:
        raise ProviderInvalid("name", f"a workspace has at most {MAX_PROVIDERS_PER_WORKSPACE} providers")
    with transaction.atomic():
        if provider.is_default:
            LLMProvider.objects.filter(workspace=workspace, is_default=True).exclude(pk=provider.pk).update(
                is_default=False)
        provider.save()
    return provider


def describe(provider: LLMProvider) -> dict:
    """A provider as the REST API shows it: never the key, only whether one is set."""
    config = config_of(provider)
    return {"id": provider.pk, "name": provider.name, "kind": provider.kind, "base_url": provider.base_url,
            "has_api_key": bool(provider.encrypted_api_key), "models": provider.models,
            "default_model": provider.default_model, "is_default": provider.is_default,
            "timeout_seconds": provider.timeout_seconds, "max_retries": provider.max_retries,
            "resolved_default_model": config.model("").id if (config.models or config.default_model) else "",
            "created_at": provider.created_at, "updated_at": provider.updated_at}
