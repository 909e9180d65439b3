"""A larger statistics sample for the messages' full-text index (docs/performance.md,
"Dashboard").

With the default target (100) ANALYZE keeps about 1,000 most common words from 30,000
sampled messages, and any word outside them is estimated at half the rarest one's
frequency: in a million messages with a long tail of words that was thousands of rows for
a word in one conversation, so the planner walked every conversation of the bot (3.3 s)
instead of reading the GIN index (20-30 ms). A target of 1,000 keeps ten times the words
from ten times the sample; ANALYZE takes a few seconds more on a large table. PostgreSQL
only, like the index.
"""
from django.db import migrations

UP = "ALTER INDEX IF EXISTS message_text_search ALTER COLUMN 1 SET STATISTICS 1000"
DOWN = "ALTER INDEX IF EXISTS message_text_search ALTER COLUMN 1 SET STATISTICS -1"


def raise_target(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UP, params=None)


def reset_target(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DOWN, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('runtime', '0013_analytics_facts_and_bot_ids'),
    ]

    operations = [
        migrations.RunPython(raise_target, reset_target),
    ]
