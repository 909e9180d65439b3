"""Indexes for the bot dashboard's Conversations page (docs/dashboard.md).

- conversation_dashboard_list: the list is the bot's conversations newest first, paged by
  (created_at, id), so a page is an index range scan, not a sort of all the bot's rows.
- message_text_search (PostgreSQL only): a GIN index on the full-text vector of each message's
  text. The expression is exactly what studio/conversations.py's SearchVector produces
  (`simple` configuration, COALESCE of payload->>'text'), so the planner uses it for the
  search filter. SQLite (the embedded default) searches with a substring match and has no
  such index.
"""


from django.conf import settings
from django.db import migrations, models

TEXT_SEARCH_UP = ("CREATE INDEX IF NOT EXISTS message_text_search ON runtime_message USING gin "
                  "(to_tsvector('simple'::regconfig, COALESCE((payload ->> 'text'), '')))")
TEXT_SEARCH_DOWN = "DROP INDEX IF EXISTS message_text_search"


def add_text_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TEXT_SEARCH_UP, params=None)


def drop_text_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TEXT_SEARCH_DOWN, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('flows', '0005_table_rows'),
        ('runtime', '0006_conversation_handoff'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='conversation',
            index=models.Index(fields=['bot', '-created_at', '-id'], name='conversation_dashboard_list'),
        ),        migrations.RunPython(add_text_search, drop_text_search),
    ]
