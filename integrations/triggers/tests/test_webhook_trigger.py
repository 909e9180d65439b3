"""Webhook triggers over real HTTP (pytest-django's live server, PostgreSQL): a signed or
secret-carrying POST starts the trigger node's flow with the body as event.payload, in a new
or a given conversation; each refusal answers 4xx with the reason and stores nothing."""
import json
import time

import httpx
import pytest

from runtime import triggers, turns
from runtime.models import Conversation, Event, Message
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db(transaction=True)


def hook_bot(auth="signature"):
    return {
        "format": "flowstudio.bot/1",
        "name": "Orders",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "hello"},
            {"id": "hello", "kind": "standard", "cards": [{"id": "hi", "type": "text", "text": "hi"}]},
            {"id": "paid", "kind": "trigger", "trigger": {"type": "webhook", "auth": auth}, "next": "tell"},
            {"id": "tell", "kind": "standard", "cards": [
                {"id": "t", "type": "text", "text": "Order {{event.payload.order.id}} is {{event.payload.state}}"}]},
        ]}],
    }


@pytest.fixture
def hook(live_server):
    def make(auth="signature"):
        bot = create_bot(hook_bot(auth))
        secret = triggers.webhook_secret(bot, "main", "paid")
        return bot, secret, live_server.url + triggers.webhook_path(bot, "main", "paid")
    return make


def post(url, body: bytes, **headers):
    return httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers}, timeout=10)


def replies(conversation_id, count=1, wait=10.0):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        texts = list(Message.objects.filter(conversation__external_id=conversation_id, direction="outgoing")
                     .order_by("seq").values_list("payload__text", flat=True))
        if len(texts) >= count:
            return texts
        time.sleep(0.05)
    raise AssertionError(f"no reply in conversation {conversation_id}")


def nothing_stored(bot):
    return not Event.objects.filter(conversation__bot=bot).exists() and not Conversation.objects.filter(bot=bot).exists()


def test_a_signed_post_starts_the_trigger_flow_in_a_new_conversation(hook):
    bot, secret, url = hook()
    body = json.dumps({"order": {"id": 42}, "state": "paid"}).encode()
    answer = post(url, body, **{"X-Flowstudio-Signature": triggers.signature(secret, body)})
    assert answer.status_code == 202, answer.text
    conversation_id = answer.json()["conversationId"]
    assert replies(conversation_id) == ["Order 42 is paid"]
    event = Event.objects.get(pk=answer.json()["eventId"])
    assert (event.type, event.payload) == ("webhook", {"order": {"id": 42}, "state": "paid"})
    assert Conversation.objects.get(external_id=conversation_id).channel == "webhook"


def test_a_post_can_name_an_existing_conversation(hook):
    bot, secret, url = hook(auth="secret")
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))
    answer = post(url + f"?conversationId={conversation.external_id}", b'{"order": {"id": 7}, "state": "shipped"}',
                  **{"X-Flowstudio-Secret": secret})
    assert answer.status_code == 202, answer.text
    assert answer.json()["conversationId"] == conversation.external_id
    assert replies(conversation.external_id) == ["Order 7 is shipped"]


@pytest.mark.parametrize("headers, phrase", [
    ({}, "X-Flowstudio-Signature header is missing"),
    ({"X-Flowstudio-Signature": "sha256=" + "0" * 64}, "X-Flowstudio-Signature header is missing or is not"),
    ({"X-Flowstudio-Secret": "SECRET"}, "X-Flowstudio-Signature header"),  # a signature trigger wants a signature
])
def test_a_bad_signature_is_401_and_stores_nothing(hook, headers, phrase):
    bot, secret, url = hook()
    headers = {k: v.replace("SECRET", secret) for k, v in headers.items()}
    answer = post(url, b'{"state": "paid"}', **headers)
    assert answer.status_code == 401 and phrase in answer.json()["error"]
    assert nothing_stored(bot)


def test_a_wrong_secret_is_401_and_a_rotated_secret_stops_the_old_one(hook):
    bot, secret, url = hook(auth="secret")
    assert post(url, b"{}", **{"X-Flowstudio-Secret": secret + "x"}).status_code == 401
    new = triggers.webhook_secret(bot, "main", "paid", rotate=True)
    assert post(url, b"{}", **{"X-Flowstudio-Secret": secret}).status_code == 401
    assert nothing_stored(bot)
    assert post(url, b"{}", **{"X-Flowstudio-Secret": new}).status_code == 202


def test_a_body_over_the_limit_is_413_and_stores_nothing(hook):
    bot, secret, url = hook()
    body = json.dumps({"blob": "x" * triggers.MAX_BODY_BYTES}).encode()
    answer = post(url, body, **{"X-Flowstudio-Signature": triggers.signature(secret, body)})
    assert answer.status_code == 413 and str(triggers.MAX_BODY_BYTES) in answer.json()["error"]
    assert nothing_stored(bot)


@pytest.mark.parametrize("body, phrase", [
    (b'{"state": "paid",}', "the body is not usable JSON: $: invalid JSON at line 1, column 18: "
                            "Expecting property name enclosed in double quotes"),
    (b'[1, 2]', "the body must be a JSON object (it becomes event.payload), not an array"),
    (b'\xff\xfe', "the body is not usable JSON: $: the body is not UTF-8 text (byte 0 cannot be decoded)"),
    (b'{"order": {"note": "a\\u0000b"}}', "the body is not usable JSON: $.order.note: "),
    (b'{"a": ' * 70 + b'1' + b'}' * 70, "the body is not usable JSON: $."),
])
def test_malformed_json_is_400_naming_the_problem(hook, body, phrase):
    bot, secret, url = hook()
    answer = post(url, body, **{"X-Flowstudio-Signature": triggers.signature(secret, body)})
    assert answer.status_code == 400 and answer.json()["error"].startswith(phrase), answer.json()
    assert nothing_stored(bot)


def test_unknown_trigger_conversation_and_unpublished_bot(hook, live_server):
    bot, secret, url = hook()
    signed = {"X-Flowstudio-Signature": triggers.signature(secret, b"{}")}
    other = url.replace("/paid/", "/tell/")
    answer = post(other, b"{}", **signed)
    assert answer.status_code == 404 and "no webhook trigger 'tell' in flow 'main'" in answer.json()["error"]
    answer = post(url + "?conversationId=nope", b"{}", **signed)
    assert answer.status_code == 404 and "no conversation 'nope'" in answer.json()["error"]
    for query in ("?conversationId=a%00b", "?userId=a%00b", "?userId=" + "x" * 256):
        answer = post(url + query, b"{}", **signed)
        assert answer.status_code == 400 and "at most 255 characters, without NUL" in answer.json()["error"], query
    assert nothing_stored(bot)
    from flows import services
    draft_only = services.import_bot(hook_bot(), workspace=services.default_workspace())
    answer = post(live_server.url + triggers.webhook_path(draft_only, "main", "paid"), b"{}", **signed)
    assert answer.status_code == 409 and "no published version" in answer.json()["error"]
    assert httpx.get(url, timeout=10).status_code == 405
