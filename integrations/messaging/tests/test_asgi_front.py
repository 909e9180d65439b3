"""The inbound webhook as servers serve it: studio.asgi sends /integrations/ to the
channels' own ASGI front (integrations/messaging/asgi.py), past the studio's middleware."""
import json

import pytest

from integrations.chat_api.tests import asgi_client
from runtime.models import Event

from .conftest import wait_for_replies


def test_a_signed_update_through_the_asgi_front_is_answered_and_the_bot_replies(channel):
    driver, api = channel
    if driver.kind != "webhook":
        pytest.skip("the front is the same for every kind: the webhook's case shows it")
    body, headers = driver.signed({"id": "front-1", "conversationId": "c", "userId": "u",
                                   "message": {"type": "text", "text": "hi"}})
    status, _, content = asgi_client.request("POST", driver.url, body=body,
                                             headers={"content-type": "application/json", **headers})
    assert (status, content) == (200, b"")
    assert wait_for_replies(driver, api, 1) == [("text", "What is your name?")]


def test_the_front_refuses_with_the_reason(channel):
    driver, api = channel
    if driver.kind != "webhook":
        pytest.skip("the front is the same for every kind: the webhook's case shows it")
    status, _, content = asgi_client.request("GET", driver.url)
    assert status == 405 and "POST" in json.loads(content)["error"]
    status, _, content = asgi_client.request("POST", "/integrations/webhook/not-a-bot/x/", body=b"{}")
    assert status == 404
    status, _, content = asgi_client.request("POST", driver.url, body=b"x" * (1024 * 1024 + 1))
    assert status == 413
    status, _, content = asgi_client.request("POST", driver.url, body=b"{}", headers={"content-type": "application/json"})
    assert status == 401 and "X-Flowstudio-Signature" in json.loads(content)["error"]
    assert not Event.objects.filter(conversation__bot=driver.bot).exists()
