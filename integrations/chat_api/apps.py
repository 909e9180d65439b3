from django.apps import AppConfig


class ChatApiConfig(AppConfig):
    name = "integrations.chat_api"
    label = "chat_api"
    verbose_name = "Chat API"

    def ready(self):
        from runtime import delivery

        from . import live

        # Idempotent: a second ready() does not deliver twice.
        delivery.subscribe(live.on_messages)
        delivery.subscribe_deletions(live.on_messages_deleted)
        delivery.subscribe_signals(live.on_signal)
