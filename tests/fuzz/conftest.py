"""Shared by the fuzz suite: the Chat API's clean-up and the hostile inputs every surface is
tried with. (Each test process has a channel-layer prefix of its own: the root conftest.py.)"""
import pytest

from integrations.chat_api import services as chat_api_services
from integrations.chat_api import workers
from integrations.chat_api.tests import asgi_client

# JSON texts (not values): each is dropped into a body where a value goes.
DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
DEEP_900 = '{"a":' * 900 + "1" + "}" * 900
NUL = '"a\\u0000b"'
SURROGATE = '"x\\ud800y"'
HOSTILE = {"deep array": DEEP_ARRAY, "deep object": DEEP_OBJECT, "900 levels": DEEP_900,
           "NUL": NUL, "lone surrogate": SURROGATE}
# What the refusal must say, for each.
SAYS = {"deep array": "nested deeper than 64", "deep object": "nested deeper than 64",
        "900 levels": "nested deeper than 64", "NUL": "NUL character", "lone surrogate": "lone surrogate"}


@pytest.fixture
def fresh_chat_api():
    chat_api_services.forget_cached_settings()
    yield
    workers.close_all()
    asgi_client.close_pools()
    chat_api_services.forget_cached_settings()
