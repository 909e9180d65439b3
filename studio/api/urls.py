"""The versioned REST API (`/api/v1/`) for everything a bot is made of (docs/rest-api.md).

Paths have no trailing slash (except the schema and docs pages); anything else under
/api/v1/ answers a JSON 404.
"""
from django.urls import include, path, re_path

from studio.api import (
    audit,
    bots,
    config,
    conversations,
    definition,
    docs,
    errors,
    knowledge,
    llm,
    mcp,
    members,
    messages,
    state,
    tables,
    tokens,
    triggers,
    users,
    variables,
    versions,
    workspaces,
)
# The Chat API's settings: the integration owns them, the REST API serves them.
from studio.api import chat_api as chat_api_rest
from studio.api import workflows as workflow_views

app_name = "api"

BOT = "bots/<uuid:bot_id>"
WORKSPACE = "workspaces/<str:workspace>"
TABLE = f"{BOT}/tables/<str:table>"
KB = f"{BOT}/knowledge-bases/<int:kb_id>"
STATES = f"{BOT}/states/<str:state_type>/<str:scope_id>"

resources = [
    path("workspaces", workspaces.Workspaces.as_view(), name="workspaces"),
    path(WORKSPACE, workspaces.WorkspaceDetail.as_view(), name="workspace"),
    path(f"{WORKSPACE}/members", members.Members.as_view(), name="members"),
    path(f"{WORKSPACE}/members/<int:user_id>", members.MemberDetail.as_view(), name="member"),
    path(f"{WORKSPACE}/invitations", members.Invitations.as_view(), name="invitations"),
    path(f"{WORKSPACE}/invitations/<int:invitation_id>", members.InvitationDetail.as_view(), name="invitation"),
    path(f"{WORKSPACE}/audit", audit.AuditLog.as_view(), name="audit"),
    path(f"{WORKSPACE}/bots", bots.WorkspaceBots.as_view(), name="workspace-bots"),
    path(f"{WORKSPACE}/bots/import", bots.ImportBot.as_view(), name="import-bot"),
    path(f"{WORKSPACE}/llm-providers", llm.Providers.as_view(), name="llm-providers"),
    path(f"{WORKSPACE}/llm-providers/<int:provider_id>", llm.ProviderDetail.as_view(), name="llm-provider"),
    path(f"{WORKSPACE}/mcp-servers", mcp.MCPServers.as_view(), name="mcp-servers"),
    path(f"{WORKSPACE}/mcp-servers/<int:server_id>", mcp.MCPServerDetail.as_view(), name="mcp-server"),
    path(f"{WORKSPACE}/mcp-servers/<int:server_id>/test", mcp.MCPServerTest.as_view(), name="mcp-server-test"),
    path("tokens", tokens.Tokens.as_view(), name="tokens"),
    path("tokens/<int:token_id>", tokens.TokenDetail.as_view(), name="token"),
    path(BOT, bots.BotDetail.as_view(), name="bot"),
    path(f"{BOT}/export", bots.ExportBot.as_view(), name="export"),
    path(f"{BOT}/definition", definition.Definition.as_view(), name="definition"),
    path(f"{BOT}/flows", definition.FlowList.as_view(), name="flows"),
    path(f"{BOT}/flows/<str:flow>", definition.FlowDetail.as_view(), name="flow"),
    path(f"{BOT}/flows/<str:flow>/nodes/<str:node>", definition.NodeDetail.as_view(), name="node"),
    path(f"{BOT}/cards/<str:card>", definition.CardDetail.as_view(), name="card"),
    path(f"{BOT}/variables", variables.Variables.as_view(), name="variables"),
    path(f"{BOT}/config", config.ConfigVariables.as_view(), name="config"),
    path(f"{BOT}/config/<str:name>", config.ConfigVariable.as_view(), name="config-variable"),
    path(f"{BOT}/config/<str:name>/<str:environment>", config.ConfigValueView.as_view(), name="config-value"),
    path(f"{BOT}/chat-api", chat_api_rest.ChatApiSettingsView.as_view(), name="chat-api"),
    path(f"{BOT}/chat-api/key", chat_api_rest.ChatApiKeyView.as_view(), name="chat-api-key"),
    path(f"{BOT}/llm-usage", llm.BotUsage.as_view(), name="llm-usage"),
    path(f"{BOT}/webhook-triggers", triggers.WebhookTriggers.as_view(), name="webhook-triggers"),
    path(f"{BOT}/webhook-triggers/<str:flow>/<str:node>/secret", triggers.WebhookTriggerSecret.as_view(),
         name="webhook-trigger-secret"),
    path(f"{BOT}/knowledge-bases", knowledge.KnowledgeBases.as_view(), name="knowledge-bases"),
    path(f"{BOT}/knowledge-bases/search", knowledge.Search.as_view(), name="knowledge-search"),
    path(KB, knowledge.KnowledgeBaseDetail.as_view(), name="knowledge-base"),
    path(f"{KB}/sources", knowledge.Sources.as_view(), name="knowledge-sources"),
    path(f"{KB}/sources/<int:source_id>", knowledge.SourceDetail.as_view(), name="knowledge-source"),
    path(f"{KB}/sources/<int:source_id>/reindex", knowledge.Reindex.as_view(), name="knowledge-reindex"),
    path(f"{BOT}/tables", tables.Tables.as_view(), name="tables"),
    path(f"{TABLE}", tables.TableDetail.as_view(), name="table"),
    path(f"{TABLE}/rows", tables.Rows.as_view(), name="table-rows"),
    path(f"{TABLE}/rows/find", tables.FindRows.as_view(), name="table-rows-find"),
    path(f"{TABLE}/rows/upsert", tables.UpsertRows.as_view(), name="table-rows-upsert"),
    path(f"{TABLE}/rows/delete", tables.DeleteRows.as_view(), name="table-rows-delete"),
    path(f"{TABLE}/rows/<int:row_id>", tables.RowDetail.as_view(), name="table-row"),
    path(f"{TABLE}/import", tables.ImportCsv.as_view(), name="table-import"),
    path(f"{TABLE}/export", tables.ExportCsv.as_view(), name="table-export"),
    path(f"{BOT}/versions", versions.Versions.as_view(), name="versions"),
    path(f"{BOT}/versions/diff", versions.VersionDiff.as_view(), name="version-diff"),
    path(f"{BOT}/versions/<int:number>", versions.VersionDetail.as_view(), name="version"),
    path(f"{BOT}/versions/<int:number>/restore", versions.RestoreVersion.as_view(), name="restore"),
    path(f"{BOT}/conversations", conversations.Conversations.as_view(), name="conversations"),
    path(f"{BOT}/conversations/<str:conversation_id>", conversations.ConversationDetail.as_view(),
         name="conversation"),
    path(f"{BOT}/conversations/<str:conversation_id>/messages", messages.ConversationMessages.as_view(),
         name="conversation-messages"),
    path(f"{BOT}/conversations/<str:conversation_id>/cancel", conversations.ConversationCancel.as_view(),
         name="conversation-cancel"),
    path(f"{BOT}/conversations/<str:conversation_id>/resume-workflow",
         workflow_views.ConversationResumeWorkflow.as_view(), name="conversation-resume-workflow"),
    path(f"{BOT}/workflows/<uuid:workflow_id>", workflow_views.WorkflowRunDetail.as_view(), name="workflow-run"),
    path(f"{BOT}/workflows/<uuid:workflow_id>/retry", workflow_views.WorkflowRunRetry.as_view(),
         name="workflow-run-retry"),
    path(f"{BOT}/workflows/<uuid:workflow_id>/cancel", workflow_views.WorkflowRunCancel.as_view(),
         name="workflow-run-cancel"),
    path(f"{BOT}/messages/<int:message_id>", messages.MessageDetail.as_view(), name="message"),
    path(f"{BOT}/users", users.EndUsers.as_view(), name="users"),
    path(f"{BOT}/users/<str:user_id>", users.EndUserDetail.as_view(), name="user"),
    path(STATES, state.StateList.as_view(), name="states"),
    path(f"{STATES}/<str:name>", state.StateDetail.as_view(), name="state"),
    path(f"{STATES}/<str:name>/get-or-set", state.StateGetOrSet.as_view(), name="state-get-or-set"),
]

schema_view = docs.SchemaView.as_view(patterns=[path("api/v1/", include(resources))])

urlpatterns = [
    *resources,
    path("schema/", schema_view, name="schema"),
    path("schema", schema_view),
    path("docs/", docs.DocsPage.as_view(), name="docs"),
    path("docs", docs.DocsPage.as_view()),
    re_path(r"^(?P<path>.*)$", errors.unknown_endpoint),
]
