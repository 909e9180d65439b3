from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"

    def ready(self):
        # Registers the `rules` permissions before any request asks for one.
        from studio import permissions  # noqa: F401
