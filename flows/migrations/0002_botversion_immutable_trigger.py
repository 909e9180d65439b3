"""A database trigger that rejects UPDATE on published versions.

The model already refuses `save()` and `update()`; this stops raw SQL and any future code
path that bypasses the ORM. DELETE stays allowed so deleting a bot still cascades.
"""
from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION flows_botversion_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'bot versions are immutable (bot %, version %)', OLD.bot_id, OLD.number;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER flows_botversion_immutable BEFORE UPDATE ON flows_botversion
    FOR EACH ROW EXECUTE FUNCTION flows_botversion_refuse_update();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS flows_botversion_immutable ON flows_botversion;
DROP FUNCTION IF EXISTS flows_botversion_refuse_update();
"""
SQLITE_UP = """
CREATE TRIGGER flows_botversion_immutable BEFORE UPDATE ON flows_botversion
BEGIN SELECT RAISE(ABORT, 'bot versions are immutable'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS flows_botversion_immutable;"


def install(apps, schema_editor):
    sql = {"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql, params=None)


def remove(apps, schema_editor):
    sql = {"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("flows", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
