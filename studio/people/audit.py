"""The audit log: who did what to which object and when.

Services call `record` inside their own transaction, so an entry exists exactly when the
change does. Actions are dotted strings, "<object>.<verb>"; the ones in use are listed in
ACTIONS (and docs/workspaces.md) so the audit page can offer them as a filter.
"""
from __future__ import annotations

from studio.people.models import AuditEntry, Workspace

# Known actions and how the audit page words them. Other helpers' services may record more;
# unknown actions still show, by their code.
ACTIONS: dict[str, str] = {
    "workspace.create": "created the workspace",
    "workspace.rename": "renamed the workspace",
    "workspace.delete": "deleted the workspace",
    "member.invite": "invited",
    "member.invitation_renew": "made a new invitation link for",
    "member.invitation_revoke": "revoked the invitation of",
    "member.join": "joined",
    "member.role_change": "changed the role of",
    "member.remove": "removed",
    "member.leave": "left",
    "token.create": "created an API token",
    "token.revoke": "revoked an API token",
    "bot.create": "created the bot",
    "bot.import": "imported the bot",
    "bot.update": "changed",
    "bot.delete": "deleted the bot",
    "bot.publish": "published",
    "bot.restore": "restored a version of",
    "config.set": "set a configuration value of",
    "config.delete": "deleted a configuration value of",
    "llm_provider.create": "added the LLM provider",
    "llm_provider.update": "changed the LLM provider",
    "llm_provider.delete": "removed the LLM provider",
    "mcp_server.create": "added the MCP server",
    "mcp_server.update": "changed the MCP server",
    "mcp_server.delete": "removed the MCP server",
    "channel.install": "installed a messaging channel on",
    "channel.update": "changed a messaging channel of",
    "channel.remove": "removed a messaging channel of",
    "trigger.secret": "made a new webhook trigger secret for",
}

# Keys that must never reach the log, whatever a caller passes.
_SECRET_KEYS = {"value", "token", "raw", "password", "secret", "token_hash", "api_key"}


def _target_fields(target) -> dict:
    if target is None:
        return {}
    meta = getattr(target, "_meta", None)
    target_type = f"{meta.app_label}.{meta.model_name}" if meta else type(target).__name__.lower()
    return {
        "target_type": target_type[:64],
        "target_id": str(getattr(target, "pk", "") or "")[:64],
        "target_repr": str(target)[:200],
    }


def record(*, actor, workspace: Workspace | None, action: str, target=None, details: dict | None = None) -> AuditEntry:
    """Write one audit entry. `details` is small JSON context; never put secrets in it."""
    clean = {k: v for k, v in (details or {}).items() if k.lower() not in _SECRET_KEYS}
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEntry.objects.create(
        workspace=workspace, actor=actor, action=action, details=clean, **_target_fields(target)
    )


def describe(action: str) -> str:
    return ACTIONS.get(action, action)
