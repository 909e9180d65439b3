"""Webchat tests run against the real Redis channel layer. Each test process gets its own
key prefix: group names are built from database ids, and two xdist workers (or two
helpers on one machine) have the same ids in different databases."""
import os
import uuid

import pytest


@pytest.fixture(autouse=True)
def _private_channel_layer(settings):
    from channels.layers import channel_layers

    if settings.REDIS_URL:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        settings.CHANNEL_LAYERS = {"default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": f"test-webchat-{worker}-{uuid.uuid4().hex[:8]}"},
        }}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
