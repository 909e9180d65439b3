from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "integrations.helpdesk"
    label = "helpdesk"
    verbose_name = "External help desk"

    def ready(self):
        from runtime import delivery

        from . import services

        # The messages of a conversation handed to people go to the bot's help desk, if it
        # has one; idempotent, so a second ready() does not forward twice.
        delivery.subscribe(services.on_messages)
        # A handoff ended in the studio closes the desk's conversation too.
        delivery.subscribe_signals(services.on_signal)
