"""Webchat tests run against the real Redis channel layer. Each test process gets its own
key prefix: group names are built from database ids, and two xdist workers (or two
helpers on one machine) have the same ids in different databases. The prefix stays the
same for the whole process, because runtime.delivery's sender keeps the layer it started
with."""
import os

import pytest

PREFIX = f"test-webchat-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"


@pytest.fixture(autouse=True)
def _private_channel_layer(settings):
    from channels.layers import channel_layers

    if settings.REDIS_URL:
        layer = settings.CHANNEL_LAYERS["default"]
        settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"], "prefix": PREFIX}}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
