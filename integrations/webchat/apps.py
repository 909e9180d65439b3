from django.apps import AppConfig


class WebchatConfig(AppConfig):
    name = "integrations.webchat"
    label = "webchat"
    verbose_name = "Webchat"

    def ready(self):
        from runtime import conversation_stream, delivery

        # Live clients (the widget; the emulator will reuse it) follow conversations through
        # the stream; idempotent, so a second ready() does not deliver twice.
        delivery.subscribe(conversation_stream.on_delivery)
        delivery.subscribe_deletions(conversation_stream.on_deletion)
        delivery.subscribe_signals(conversation_stream.on_signal)
