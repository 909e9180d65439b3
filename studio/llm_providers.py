"""A workspace's LLM providers changed by people in the studio: saved through
integrations.llm's own service (which validates and encrypts the key) and recorded in the
workspace's audit log here, on the people's side, so `integrations` never writes audit
entries (docs/architecture.md). The log says which fields changed, never the key."""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from flows import services as flow_services
from integrations.llm import demo, services
from integrations.llm.models import LLMProvider
from studio.people import audit
from studio.people.models import Workspace

logger = logging.getLogger(__name__)

ProviderInvalid = services.ProviderInvalid


def _changed(data: dict) -> dict:
    fields = sorted(field for field in data if field != "api_key")
    return {"fields": fields, **({"key": "removed" if not data["api_key"] else "replaced"}
                                 if "api_key" in data else {})}


def add_provider(workspace, data: dict, *, user) -> LLMProvider:
    try:
        with transaction.atomic():
            provider = services.save_provider(workspace, data)
            audit.record(actor=user, workspace=workspace, action="llm_provider.create", target=provider,
                         details=_changed(data))
    except IntegrityError:
        # Two saves of the same name at once: the second loses on the unique constraint.
        raise ProviderInvalid("name", f"the workspace already has a provider named {data.get('name')!r}") from None
    return provider


def change_provider(provider: LLMProvider, data: dict, *, user) -> LLMProvider:
    with transaction.atomic():
        provider = services.save_provider(provider.workspace, data, provider=provider)
        audit.record(actor=user, workspace=provider.workspace, action="llm_provider.update", target=provider,
                     details=_changed(data if isinstance(data, dict) else {}))
    return provider


def remove_provider(provider: LLMProvider, *, user) -> None:
    with transaction.atomic():
        audit.record(actor=user, workspace=provider.workspace, action="llm_provider.delete", target=provider,
                     details={"name": provider.name})
        provider.delete()


def start_demo() -> LLMProvider:
    """FLOWSTUDIO_LLM_DEMO: start this process's demo LLM and make it the provider "demo" of
    FLOWSTUDIO_LLM_DEMO_WORKSPACE (run-studio.sh passes the first owner's workspace), else of
    the Default workspace. Not audited: no person did it."""
    slug = settings.FLOWSTUDIO_LLM_DEMO_WORKSPACE
    workspace = Workspace.objects.filter(slug=slug).first() if slug else None
    if workspace is None:
        if slug:
            logger.warning("FLOWSTUDIO_LLM_DEMO_WORKSPACE: no workspace %r; using the Default workspace", slug)
        workspace = flow_services.default_workspace()
    provider = demo.register(workspace)
    logger.info("demo LLM at %s is the provider %r of the workspace %s", provider.base_url, provider.name,
                workspace.slug)
    return provider

