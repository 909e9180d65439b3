"""Project-wide pytest setup: the fixes from stack-research.md section 3 that every test needs."""
import inspect
import multiprocessing
import os

import pytest

# A forked live-server child inherits asgiref's executor object but not its worker thread,
# and then hangs on the first consumer dispatch; spawn starts it clean.
multiprocessing.set_start_method("spawn", force=True)

# The embedded default's in-process beat (runtime/embedded_beat.py) stays off in tests and in
# the servers they spawn: a test that wants it starts it, or sets the variable for its child.
os.environ["FLOWSTUDIO_EMBEDDED_BEAT"] = "false"
# Likewise the start-up sweep of stranded events (runtime/recovery.py); the chaos tests turn it on.
os.environ["FLOWSTUDIO_STARTUP_SWEEP"] = "false"


def pytest_configure(config):
    from django.conf import settings

    # pytest-django reads settings before this file is imported.
    settings.FLOWSTUDIO_EMBEDDED_BEAT = False
    settings.FLOWSTUDIO_STARTUP_SWEEP = False
    # Group names come from database ids, which repeat across xdist workers' databases, and
    # Redis pub/sub channels ignore the database number: each worker (and the servers it
    # spawns, through the environment) gets its own channel-layer prefix.
    layer = settings.CHANNEL_LAYERS["default"]
    if "prefix" in layer.get("CONFIG", {}):
        prefix = f"{layer['CONFIG']['prefix']}{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.{os.getpid()}."
        os.environ["CHANNEL_LAYER_PREFIX"] = prefix
        settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"], "prefix": prefix}}}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    from django.db import connections

    # A spawned live-server child re-reads settings and would lose pytest-xdist's _gwN
    # suffix; settings.py reads the real test database name back from here.
    os.environ["STUDIO_LIVE_TEST_DB"] = connections["default"].settings_dict["NAME"]


@pytest.fixture(autouse=True)
def _close_connections_after_async_test(request):
    yield
    if inspect.iscoroutinefunction(getattr(request, "function", None)):
        from asgiref.sync import SyncToAsync
        from django.db import connections

        # Async ORM calls made outside async_to_sync run in asgiref's single executor
        # thread; connections left open there block dropping the test database.
        SyncToAsync.single_thread_executor.submit(connections.close_all).result()
        # Turns of live channels ran on the test's loop with its own async pool (runtime/pg.py).
        from runtime import pg

        pg.close_all()


@pytest.fixture(autouse=True)
def _forget_cached_llm_providers():
    # The providers cached per bot id (integrations/llm/services.py) outlive a test's database:
    # a flush or rollback fires no delete signal, and the next test's bot may get the same id.
    yield
    from integrations.llm import services

    services._cache.clear()
