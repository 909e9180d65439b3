"""POST /api/v1/bots/<bot>/conversations/<id>/cancel: the user's stop through the REST API
while a streamed AI answer is being written (docs/ai.md, "Streaming and cancel")."""
import threading

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from integrations.llm import scripted_server as s
from integrations.llm.testing import scripted_llm_server  # noqa: F401
from integrations.webchat.tests.test_streaming import LONG, streaming_bot, wait_for
from runtime import delivery, turns
from runtime.models import Event
from studio.people import tokens
from studio.people.models import Membership, Role

pytestmark = pytest.mark.django_db(transaction=True)


def test_rest_cancel_stops_the_llm_call_and_keeps_the_message_marked_cancelled(scripted_llm_server):
    scripted_llm_server.script([s.text(LONG, token_delay=0.1)])
    bot = streaming_bot(scripted_llm_server)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"), channel="webchat")
    signals = []
    collect = delivery.subscribe_signals(lambda c, signal: signals.append((c.pk, signal)))
    outcome = {}
    try:
        worker = threading.Thread(target=lambda: outcome.update(
            result=turns.send_user_message(conversation, "tell me a lot")))
        worker.start()
        wait_for(lambda: any(sig["type"] == "delta" for _, sig in signals))

        developer = get_user_model().objects.create_user(username="dev@example.com", email="dev@example.com")
        Membership.objects.create(workspace=bot.workspace, user=developer, role=Role.DEVELOPER)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(developer, 'stop')[1]}")
        response = client.post(f"/api/v1/bots/{bot.pk}/conversations/{conversation.external_id}/cancel")
        assert response.status_code == 202, response.content
        assert response.json()["cancelled"] is True
        worker.join(10)
        assert not worker.is_alive()
    finally:
        delivery.unsubscribe_signals(collect)

    result = outcome["result"]
    assert result.event.status == Event.Status.PROCESSED and result.messages == []
    rows = list(conversation.messages.order_by("seq"))
    assert [(m.direction, (m.metadata or {}).get("cancelled")) for m in rows] == [("incoming", True)]
    kinds = [sig["type"] for pk, sig in signals if pk == conversation.pk]
    assert kinds[-1] == "cancelled" and set(kinds[:-1]) == {"delta"}
    assert signals[-1][1]["messageSeq"] == rows[0].seq
    # The model was asked once and stopped: the answer was never finished.
    assert len(scripted_llm_server.requests) == 1




def test_a_stop_from_another_process_reaches_the_call_through_redis(scripted_llm_server, settings):
    """What another server process sends (the turn runs here, the stop was taken there): only
    the Redis key and the pub/sub message, nothing in this process's memory."""
    if not settings.REDIS_URL:
        pytest.skip("crossing processes needs Redis")
    import redis

    from runtime import llm_gateway

    scripted_llm_server.script([s.text(LONG, token_delay=0.1)])
    bot = streaming_bot(scripted_llm_server)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"), channel="webchat")
    signals = []
    collect = delivery.subscribe_signals(lambda c, signal: signals.append(signal))
    outcome = {}
    try:
        worker = threading.Thread(target=lambda: outcome.update(
            result=turns.send_user_message(conversation, "tell me a lot")))
        worker.start()
        wait_for(lambda: any(sig["type"] == "delta" for sig in signals))
        key, seq = turns.cancel_key(conversation), Event.objects.get(conversation=conversation).seq
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.set(f"{llm_gateway._prefix()}:{key}", seq, ex=60)
        client.publish(llm_gateway._prefix(), f"{key}:{seq}")
        worker.join(10)
        assert not worker.is_alive()
    finally:
        delivery.unsubscribe_signals(collect)
    assert outcome["result"].messages == []
    assert signals[-1]["type"] == "cancelled"
    assert conversation.messages.get().metadata["cancelled"] is True
