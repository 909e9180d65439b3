from django.urls import path

from studio.views import accounts, ai, audit, bots, channels, inbox, members, tokens, webchat, workspaces

app_name = "studio"
urlpatterns = [
    path("", workspaces.home, name="home"),
    # accounts
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", accounts.logout_view, name="logout"),
    path("accounts/password/", accounts.PasswordChangeView.as_view(), name="password"),
    path("accounts/password/reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", accounts.PasswordResetSentView.as_view(), name="password_reset_sent"),
    path("accounts/password/reset/<uidb64>/<token>/", accounts.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/profile/", accounts.profile, name="profile"),
    path("accounts/avatar/<int:user_id>/", accounts.avatar, name="avatar"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", tokens.revoke, name="revoke_token"),
    path("invitations/<str:token>/", members.accept_invitation, name="accept_invitation"),
    # workspaces
    path("workspaces/new/", workspaces.new_workspace, name="new_workspace"),
    path("w/<slug:slug>/", bots.bots, name="bots"),
    path("w/<slug:slug>/bots/new/", bots.create, name="create_bot"),
    path("w/<slug:slug>/bots/import/", bots.import_file, name="import_bot"),
    path("w/<slug:slug>/settings/", workspaces.settings_page, name="settings"),
    path("w/<slug:slug>/settings/rename/", workspaces.rename, name="rename_workspace"),
    path("w/<slug:slug>/settings/delete/", workspaces.delete, name="delete_workspace"),
    path("w/<slug:slug>/ai/", ai.ai_settings, name="ai_settings"),
    path("w/<slug:slug>/ai/providers/add/", ai.add_provider, name="add_provider"),
    path("w/<slug:slug>/ai/providers/<int:pk>/", ai.change_provider, name="change_provider"),
    path("w/<slug:slug>/ai/providers/<int:pk>/default/", ai.make_default_provider, name="default_provider"),
    path("w/<slug:slug>/ai/providers/<int:pk>/delete/", ai.delete_provider, name="delete_provider"),
    path("w/<slug:slug>/ai/mcp/add/", ai.add_server, name="add_mcp_server"),
    path("w/<slug:slug>/ai/mcp/<int:pk>/", ai.change_server, name="change_mcp_server"),
    path("w/<slug:slug>/ai/mcp/<int:pk>/delete/", ai.delete_server, name="delete_mcp_server"),
    path("w/<slug:slug>/ai/mcp/<int:pk>/test/", ai.test_server, name="test_mcp_server"),
    path("w/<slug:slug>/members/", members.members, name="members"),
    path("w/<slug:slug>/members/invite/", members.invite, name="invite"),
    path("w/<slug:slug>/members/leave/", members.leave, name="leave"),
    path("w/<slug:slug>/members/<int:pk>/role/", members.change_role, name="change_role"),
    path("w/<slug:slug>/members/<int:pk>/remove/", members.remove, name="remove_member"),
    path("w/<slug:slug>/invitations/<int:pk>/renew/", members.renew_invitation, name="renew_invitation"),
    path("w/<slug:slug>/invitations/<int:pk>/revoke/", members.revoke_invitation, name="revoke_invitation"),
    path("w/<slug:slug>/audit/", audit.audit_log, name="audit"),
    # the Inbox: conversations handed to people (docs/handoff.md)
    path("w/<slug:slug>/inbox/", inbox.inbox, name="inbox"),
    path("w/<slug:slug>/inbox/<int:conversation_id>/", inbox.conversation, name="inbox_conversation"),
    path("w/<slug:slug>/inbox/<int:conversation_id>/assign/", inbox.claim, name="inbox_claim"),
    path("w/<slug:slug>/inbox/<int:conversation_id>/reply/", inbox.reply, name="inbox_reply"),
    path("w/<slug:slug>/inbox/<int:conversation_id>/hand-back/", inbox.hand_back, name="inbox_hand_back"),
    path("w/<slug:slug>/inbox/<int:conversation_id>/end/", inbox.end, name="inbox_end"),
    # bots
    path("bots/<uuid:bot_id>/", bots.dashboard, name="bot"),
    path("bots/<uuid:bot_id>/export/", bots.export, name="export_bot"),
    path("bots/<uuid:bot_id>/chat-api/", bots.chat_api_settings, name="chat_api"),
    path("bots/<uuid:bot_id>/chat-api/key/", bots.chat_api_key, name="chat_api_key"),
    path("bots/<uuid:bot_id>/delete/", bots.delete, name="delete_bot"),
    # the messaging channels of a bot (integrations/messaging)
    path("bots/<uuid:bot_id>/channels/webhook/secret/", channels.webhook_secret, name="channel_webhook_secret"),
    path("bots/<uuid:bot_id>/channels/<slug:kind>/", channels.change, name="channel"),
    # the webchat channel of a bot
    path("bots/<uuid:bot_id>/webchat/", webchat.settings_page, name="webchat_settings"),
    path("bots/<uuid:bot_id>/webchat/preview/", webchat.preview_page, name="webchat_preview"),
]
