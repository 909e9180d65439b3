"""Versions stay immutable, with one exception: when the studio user who published a version
is deleted, its `author` becomes NULL (on_delete=SET_NULL). The trigger of 0002 refused that
UPDATE too, so deleting such a user failed. Every other column must stay as it was."""
from django.db import migrations

COLUMNS = ("id", "bot_id", "number", "definition", "created_at", "note", "intent_model")

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION flows_botversion_refuse_update() RETURNS trigger AS $$
BEGIN
    IF NEW.author_id IS NULL AND OLD.author_id IS NOT NULL
       AND ROW({new}) IS NOT DISTINCT FROM ROW({old}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'bot versions are immutable (bot %, version %)', OLD.bot_id, OLD.number;
END;
$$ LANGUAGE plpgsql;
""".format(new=", ".join(f"NEW.{c}" for c in COLUMNS), old=", ".join(f"OLD.{c}" for c in COLUMNS))
POSTGRES_DOWN = """
CREATE OR REPLACE FUNCTION flows_botversion_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'bot versions are immutable (bot %, version %)', OLD.bot_id, OLD.number;
END;
$$ LANGUAGE plpgsql;
"""
SQLITE_UP = [
    "DROP TRIGGER IF EXISTS flows_botversion_immutable;",
    """CREATE TRIGGER flows_botversion_immutable BEFORE UPDATE ON flows_botversion
WHEN NOT (NEW.author_id IS NULL AND OLD.author_id IS NOT NULL AND {same})
BEGIN SELECT RAISE(ABORT, 'bot versions are immutable'); END;""".format(
        same=" AND ".join(f"NEW.{c} IS OLD.{c}" for c in COLUMNS)),
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS flows_botversion_immutable;",
    """CREATE TRIGGER flows_botversion_immutable BEFORE UPDATE ON flows_botversion
BEGIN SELECT RAISE(ABORT, 'bot versions are immutable'); END;""",
]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql, params=None)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, [POSTGRES_UP])
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_UP)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, [POSTGRES_DOWN])
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("flows", "0003_botversion_intent_model")]
    operations = [migrations.RunPython(install, remove)]
