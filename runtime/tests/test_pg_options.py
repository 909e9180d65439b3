"""The async pool (runtime/pg.py) connects with every option of DATABASE_URL, as Django's
own connections do: sslmode, connect_timeout, server options."""
import environ
import psycopg
import pytest
from django.db import connection
from psycopg.conninfo import conninfo_to_dict

from runtime import pg


def test_options_of_the_database_url_reach_the_conninfo():
    config = environ.Env.db_url_config(
        "postgres://ada:pw@db.example:6432/flow?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=7"
        "&target_session_attrs=read-write")
    info = conninfo_to_dict(pg._conninfo(config))
    assert info == {"dbname": "flow", "user": "ada", "password": "pw", "host": "db.example", "port": "6432",
                    "sslmode": "verify-full", "sslrootcert": "/etc/ca.pem", "connect_timeout": "7",
                    "target_session_attrs": "read-write", "application_name": "flowstudio-async"}


def test_django_only_options_are_left_to_django():
    info = conninfo_to_dict(pg._conninfo({"NAME": "flow", "OPTIONS": {"isolation_level": 1, "pool": True,
                                                                       "sslmode": "require"}}))
    assert info == {"dbname": "flow", "sslmode": "require", "application_name": "flowstudio-async"}


@pytest.mark.django_db
def test_a_real_connection_gets_the_options():
    db = dict(connection.settings_dict)
    db["OPTIONS"] = {**db.get("OPTIONS", {}), "sslmode": "disable", "options": "-c statement_timeout=4321",
                     "application_name": "from-the-url"}
    with psycopg.connect(pg._conninfo(db)) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "4321ms"
        assert conn.execute("SHOW application_name").fetchone()[0] == "from-the-url"
        assert conn.pgconn.ssl_in_use is False
