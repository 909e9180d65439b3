"""The inbound acknowledgement is cheap (integrations/messaging/inbound.py): with the channel in
memory it is one statement, the conversation is made after it, and memory never lets a
channel disabled or changed elsewhere take an update."""
import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.chat_api.tests import asgi_client
from integrations.messaging import inbound, services
from integrations.messaging.models import Channel, InboundUpdate
from runtime.models import Conversation, Event
from runtime.tests.bots import create_bot
from runtime.tests.receiver import receiver

from .bots import pizza_bot
from .channels import WebhookDriver
from .conftest import wait_for_replies


def _installed(client, api):
    driver = WebhookDriver(client)
    driver.bot = create_bot(pizza_bot())
    driver.install(driver.bot, api)
    return driver


def test_an_acknowledgement_is_one_query_once_the_channel_is_in_memory(local_channels, client, monkeypatch):
    queued = []
    monkeypatch.setattr(inbound, "schedule", queued.append)  # what the worker would get
    with receiver(WebhookDriver.ok_answer) as api:
        driver = _installed(client, api)
        with CaptureQueriesContext(connection) as first:
            assert driver.say("hi", update_id="u-1").status_code == 200
        with CaptureQueriesContext(connection) as second:
            assert driver.say("hi again", update_id="u-2").status_code == 200
        with CaptureQueriesContext(connection) as redelivered:
            assert driver.say("hi again", update_id="u-2").status_code == 200
    # The channel (with its bot's published state), then the store; once in memory only the
    # store, which is also all a redelivery costs.
    assert len(first.captured_queries) == 2
    assert len(second.captured_queries) == 1 and "INSERT INTO" in second.captured_queries[0]["sql"]
    assert len(redelivered.captured_queries) == 1
    # Stored and queued, not yet an event: the conversation is made on the worker.
    assert [update_id for update_id, in InboundUpdate.objects.order_by("pk").values_list("update_id")] == ["u-1", "u-2"]
    assert all(row.inbound for row in InboundUpdate.objects.all())
    assert not Conversation.objects.filter(bot=driver.bot).exists()
    assert [[chat for _, chat in batch] for batch in queued] == [["chat-1"], ["chat-1"]]
    # The worker's half: both become events of one conversation, in order, and the bot answers.
    inbound.ingest_and_process([pk for batch in queued for pk, _ in batch])
    events = list(Event.objects.filter(conversation__bot=driver.bot).order_by("seq"))
    assert [e.payload["text"] for e in events] == ["hi", "hi again"]
    assert InboundUpdate.objects.filter(inbound__isnull=True, event__isnull=False).count() == 2
    conversation = Conversation.objects.get(bot=driver.bot)
    assert conversation.channel == "webhook" and conversation.user.external_id == "webhook:user-1"


def test_the_asgi_front_acknowledges_from_memory_and_the_bot_answers(local_channels, client):
    with receiver(WebhookDriver.ok_answer) as api:
        driver = _installed(client, api)
        for n, text in enumerate(["hi", "Ada"]):
            body, headers = driver.signed({"id": f"front-{n}", "conversationId": "c", "userId": "u",
                                           "message": {"type": "text", "text": text}})
            status, _, content = asgi_client.request("POST", driver.url, body=body,
                                                     headers={"content-type": "application/json", **headers})
            assert (status, content) == (200, b"")
            # The first read the channel from the database; from then on it is in memory.
            assert inbound.in_memory("webhook", driver.bot.pk, driver.channel.secret_id) is not None
        assert wait_for_replies(driver, api, 2) == [("text", "What is your name?"),
                                                    ("choice", "Which size, Ada?", ["Small", "Large"])]


def test_a_channel_disabled_elsewhere_is_refused_although_in_memory(local_channels, client):
    with receiver(WebhookDriver.ok_answer) as api:
        driver = _installed(client, api)
        assert driver.say("hi").status_code == 200
        assert inbound.in_memory("webhook", driver.bot.pk, driver.channel.secret_id) is not None
        # Another process's change: no signal reaches this one's memory.
        Channel.objects.filter(pk=driver.channel.pk).update(enabled=False)
        answer = driver.say("still there?", update_id="after-disable")
    assert answer.status_code == 403 and "disabled" in answer.json()["error"]
    assert not InboundUpdate.objects.filter(update_id="after-disable").exists()
    assert inbound.in_memory("webhook", driver.bot.pk, driver.channel.secret_id) is None


def test_a_secret_rotated_elsewhere_takes_the_new_signature_and_refuses_the_old(local_channels, client):
    with receiver(WebhookDriver.ok_answer) as api:
        driver = _installed(client, api)
        assert driver.say("hi").status_code == 200
        row = Channel.objects.get(pk=driver.channel.pk)
        row.secrets = {"secret": "a-new-secret-of-sixteen-or-more"}
        Channel.objects.filter(pk=row.pk).update(encrypted_secrets=row.encrypted_secrets)  # no signal here
        old = driver.say("old", update_id="signed-with-old")
        new = driver.say("new", update_id="signed-with-new", secret="a-new-secret-of-sixteen-or-more")
    assert old.status_code == 401 and "X-Flowstudio-Signature" in old.json()["error"]
    assert new.status_code == 200
    assert list(InboundUpdate.objects.filter(update_id__startswith="signed-with")
                .values_list("update_id", flat=True)) == ["signed-with-new"]


def test_a_saved_channel_is_read_again(local_channels, client):
    with receiver(WebhookDriver.ok_answer) as api:
        driver = _installed(client, api)
        assert driver.say("hi").status_code == 200
        services.set_enabled(driver.bot, "webhook", False)
        assert inbound.in_memory("webhook", driver.bot.pk, driver.channel.secret_id) is None
        assert driver.say("hi").status_code == 403


def test_an_update_whose_task_was_lost_is_answered_by_the_sweep(local_channels, client, monkeypatch):
    monkeypatch.setattr(inbound, "schedule", lambda stored: None)  # the broker lost it
    with receiver(WebhookDriver.ok_answer) as api:
        driver = _installed(client, api)
        assert driver.say("hi").status_code == 200
        assert InboundUpdate.objects.filter(inbound__isnull=False).count() == 1
        assert inbound.sweep(lease_seconds=3600) == 0  # younger than the lease: its task may still come
        assert inbound.sweep(lease_seconds=0) == 1
        assert wait_for_replies(driver, api, 1) == [("text", "What is your name?")]
    assert not InboundUpdate.objects.filter(inbound__isnull=False).exists()


def test_a_text_update_without_text_is_refused_before_anything_is_stored(local_channels, client):
    with receiver(WebhookDriver.ok_answer) as api:
        driver = _installed(client, api)
        body, headers = driver.signed({"id": "no-text", "conversationId": "c", "userId": "u",
                                       "message": {"type": "text"}})
        answer = driver.post(body, "application/json", headers)
    assert answer.status_code == 400 and "'text'" in answer.json()["error"]
    assert not InboundUpdate.objects.exists()
    assert json.loads(answer.content)["error"].startswith("invalid update")
