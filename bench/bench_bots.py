"""The benches' shared set-up: Django on the PostgreSQL of DATABASE_URL, and a bench's own bot
imported once and brought up to date and published on every run (so a bench measures the bot
as its file says today, and an earlier run's bot is reused rather than piled up)."""
from __future__ import annotations

import os


def start_django(script: str) -> None:
    """Set Django up in this process; the benches measure PostgreSQL, never the SQLite default."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit(f"{script} measures PostgreSQL: set DATABASE_URL")


def publish_bot(definition: dict, *, note: str, workspace=None):
    """The bot named by `definition`, created in `workspace` (default: the default workspace)
    or updated to `definition`, and published. Returns the Bot."""
    from flows import services as flow_services
    from flows.models import Bot

    bot = Bot.objects.filter(name=definition["name"]).first()
    if bot is None:
        bot = flow_services.import_bot(definition, workspace=workspace or flow_services.default_workspace())
    else:  # the bench's own bot from an earlier run: bring it up to date
        flow_services.replace_draft(bot, definition, base_revision=None)
    flow_services.publish(bot, note=note)
    return bot
