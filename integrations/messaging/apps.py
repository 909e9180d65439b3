from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "integrations.messaging"
    label = "messaging"
    verbose_name = "Messaging channels"

    def ready(self):
        from runtime import delivery

        from . import media, sending

        # The bot's replies in a channel's conversations go out through the channel's API;
        # idempotent, so a second ready() does not send twice.
        delivery.subscribe(sending.on_messages)
        # The files users send on WhatsApp are downloaded after they are stored.
        delivery.subscribe(media.on_messages)
