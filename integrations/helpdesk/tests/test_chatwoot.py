"""The Chatwoot connector against a local server that speaks Chatwoot's API
(integrations/helpdesk/testing.py), on PostgreSQL and Redis, with a real Celery worker for the
whole handoff: a user on the generic webhook channel is escalated, the conversation opens in
the desk with the transcript, messages go both ways (the agent's reply reaches the user
through the user's own channel), and resolving it gives the conversation back to the bot."""
import json
import logging
import time

import pytest
from django.urls import reverse

from integrations.helpdesk import services
from integrations.helpdesk.models import DeskConversation, DeskWebhook
from integrations.helpdesk.testing import fake_chatwoot
from integrations.messaging.tests.channels import WebhookDriver
from integrations.messaging.tests.conftest import wait_for
from integrations.messaging.tests.test_delivery import channels_worker
from runtime.models import Conversation, Event, Message
from runtime.tests.bots import create_bot, handoff_bot
from runtime.tests.receiver import receiver

# Generous: a worker starting on a loaded machine; a wait ends as soon as it holds.
WAIT = 60


def _connect(bot, desk, **overrides):
    return services.configure(bot, {"base_url": desk.url, "account_id": str(desk.account_id),
                                    "inbox_id": str(desk.inbox_id), "api_access_token": desk.token,
                                    "webhook_secret": desk.webhook_secret, **overrides})


def _user_side(client, api):
    driver = WebhookDriver(client)
    driver.bot = create_bot(handoff_bot())
    driver.install(driver.bot, api)
    return driver


def _said_to_user(driver, api):
    return [reply[1] for reply in driver.replies(api)]


def _path(desk_row):
    return reverse("helpdesk:webhook", args=[desk_row.kind, desk_row.bot_id, desk_row.secret_id])


def _post(client, desk_row, desk, payload, **sign):
    body, headers = desk.signed(payload, **sign)
    return client.post(_path(desk_row), data=body, content_type="application/json", headers=headers)


def _escalate(driver, api):
    assert driver.say("hello").status_code == 200
    wait_for(lambda: _said_to_user(driver, api) == ["bot: hello"], WAIT, "the bot's echo")
    assert driver.say("a human please").status_code == 200
    wait_for(lambda: len(_said_to_user(driver, api)) == 2, WAIT, "the escalate card's message")
    return Conversation.objects.get(bot=driver.bot)


def _opened(desk):
    wait_for(lambda: desk.conversations and desk.conversations[1]["status"] == "open", WAIT, "the desk conversation open")
    return desk.conversations[1]


def test_a_handoff_goes_to_chatwoot_and_comes_back_with_a_real_worker(tmp_path, transactional_db, settings, client):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with fake_chatwoot() as desk, receiver(WebhookDriver.ok_answer) as api:
        driver = _user_side(client, api)
        desk_row = _connect(driver.bot, desk)
        with channels_worker(tmp_path, FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS="127.0.0.1") as queue:
            settings.FLOWSTUDIO_CHANNELS_CELERY_QUEUE = queue
            conversation = _escalate(driver, api)
            assert _said_to_user(driver, api) == ["bot: hello", "Connecting you with a person."]
            opened = _opened(desk)
            # pending first, then open: the Agent Bot API's handoff.
            assert desk.statuses[:2] == [(1, "pending"), (1, "open")]
            assert opened["additional_attributes"]["flowstudio_conversation"] == str(conversation.pk)
            copied = [(m["message_type"], m["private"], m["content"]) for m in opened["messages"]]
            assert copied == [
                ("outgoing", True, "Handed over by the bot: the user asked: a human please (priority high)"),
                ("incoming", False, "hello"),
                ("outgoing", True, "Bot: bot: hello"),
                ("incoming", False, "a human please"),
                ("outgoing", True, "Bot: Connecting you with a person."),
            ]
            # The user writes on: the bot stays silent, the desk gets it as an incoming message.
            assert driver.say("is anyone there?").status_code == 200
            wait_for(lambda: opened["messages"][-1]["content"] == "is anyone there?", WAIT, "the user's message in the desk")
            assert opened["messages"][-1]["message_type"] == "incoming"

            # The agent answers in Chatwoot: the user gets it through the webhook channel.
            answer = _post(client, desk_row, desk, desk.agent_reply(1, "Hi, Ann here. How can I help?"))
            assert answer.status_code == 200 and answer.json() == {"result": "message"}
            wait_for(lambda: len(_said_to_user(driver, api)) == 3, WAIT, "the agent's reply on the channel")
            assert _said_to_user(driver, api)[-1] == "Hi, Ann here. How can I help?"
            stored = Message.objects.filter(conversation=conversation, direction="outgoing").order_by("-seq").first()
            assert stored.metadata["agent"] == {"id": "chatwoot:7", "name": "Ann Agent", "avatarUrl": None,
                                                "desk": "chatwoot"}
            conversation.refresh_from_db()
            assert conversation.handoff_status == "with_agent"
            time.sleep(0.5)  # the agent's own reply is not copied back into the desk
            assert [m["content"] for m in opened["messages"]].count("Hi, Ann here. How can I help?") == 1

            # Resolved in Chatwoot: back to the bot, which answers at once and then echoes again.
            assert _post(client, desk_row, desk, desk.resolve(1)).json() == {"result": "resolved"}
            wait_for(lambda: len(_said_to_user(driver, api)) == 4, WAIT, "the bot's answer after the hand back")
            assert _said_to_user(driver, api)[-1] == "Back with the bot."
            conversation.refresh_from_db()
            assert conversation.handoff_status == "bot"
            assert driver.say("thanks").status_code == 200
            wait_for(lambda: len(_said_to_user(driver, api)) == 5, WAIT, "the bot's echo")
            assert _said_to_user(driver, api)[-1] == "bot: thanks"
            log = (tmp_path / "worker.log").read_text()
        assert "helpdesk.forward" in log
        assert "thanks" not in [m["content"] for m in opened["messages"]]


@pytest.fixture
def local_desk(settings, transactional_db):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def handed_off(local_desk, client):
    """A conversation escalated on the webhook channel and opened in the fake Chatwoot
    (without a worker: the embedded default's threads)."""
    with fake_chatwoot() as desk, receiver(WebhookDriver.ok_answer) as api:
        driver = _user_side(client, api)
        desk_row = _connect(driver.bot, desk)
        conversation = _escalate(driver, api)
        _opened(desk)
        yield desk, desk_row, driver, api, conversation


def test_a_webhook_with_a_bad_signature_is_refused_and_stores_nothing(handed_off, client):
    desk, desk_row, driver, api, conversation = handed_off
    messages_before = Message.objects.filter(conversation=conversation).count()
    payload = desk.agent_reply(1, "I am not the desk")
    for sign in ({"secret": "not-the-webhook-secret"}, {"timestamp": int(time.time()) - 3600}):
        answer = _post(client, desk_row, desk, payload, **sign)
        assert answer.status_code == 401, answer.content
        assert "webhook" in answer.json()["error"]
    unsigned = client.post(_path(desk_row), data=json.dumps(payload), content_type="application/json")
    assert unsigned.status_code == 401 and "not signed" in unsigned.json()["error"]
    wrong_url = client.post(_path(desk_row).replace(desk_row.secret_id, "guessed"), data=b"{}",
                            content_type="application/json")
    assert wrong_url.status_code == 404
    assert Message.objects.filter(conversation=conversation).count() == messages_before
    assert not DeskWebhook.objects.exists()
    conversation.refresh_from_db()
    assert conversation.handoff_status == "waiting"


def test_a_redelivered_webhook_is_applied_once(handed_off, client):
    desk, desk_row, driver, api, conversation = handed_off
    reply = desk.agent_reply(1, "Only once, please.")
    assert _post(client, desk_row, desk, reply).json() == {"result": "message"}
    assert _post(client, desk_row, desk, reply).json() == {"result": "duplicate"}
    wait_for(lambda: "Only once, please." in _said_to_user(driver, api), WAIT, "the agent's reply")
    time.sleep(0.3)
    assert _said_to_user(driver, api).count("Only once, please.") == 1
    assert Message.objects.filter(conversation=conversation, payload__text="Only once, please.").count() == 1
    resolved = desk.resolve(1)
    assert _post(client, desk_row, desk, resolved).json() == {"result": "resolved"}
    assert _post(client, desk_row, desk, resolved).json() == {"result": "duplicate"}
    wait_for(lambda: "Back with the bot." in _said_to_user(driver, api), WAIT, "the bot back")
    time.sleep(0.3)
    # Resolved in Chatwoot: the hand back does not resolve it there a second time.
    assert [status for _, status in desk.statuses].count("resolved") == 1
    assert Event.objects.filter(conversation=conversation, type="hitlStopped").count() == 1
    assert DeskWebhook.objects.filter(desk=desk_row).count() == 2


def test_what_is_not_an_agents_public_reply_is_ignored(handed_off, client):
    desk, desk_row, driver, api, conversation = handed_off
    note = {**desk.agent_reply(1, "internal note"), "private": True}
    incoming = {**desk.agent_reply(1, "from the contact"), "message_type": "incoming",
                "sender": {"id": 1, "type": "contact"}}
    other = {**desk.agent_reply(1, "not ours"), "conversation": {"id": 999}}
    for payload in (note, incoming, other, {"event": "conversation_typing_on", "id": 1}):
        answer = _post(client, desk_row, desk, payload)
        assert answer.status_code == 200 and answer.json()["result"].startswith("ignored"), answer.content
    broken = _post(client, desk_row, desk, {"no": "event"})
    assert broken.status_code == 400 and "event" in broken.json()["error"]
    assert _said_to_user(driver, api) == ["bot: hello", "Connecting you with a person."]


def test_a_desk_that_cannot_answer_now_is_retried(local_desk, client):
    with fake_chatwoot() as desk, receiver(WebhookDriver.ok_answer) as api:
        driver = _user_side(client, api)
        _connect(driver.bot, desk)
        desk.fail_next(503, times=2)
        _escalate(driver, api)
        opened = _opened(desk)
        assert [m["content"] for m in opened["messages"] if m["message_type"] == "incoming"] == ["hello", "a human please"]
        # Recorded right after Chatwoot answered the toggle.
        link = wait_for(lambda: DeskConversation.objects.filter(opened=True).first(), WAIT, "the link opened")
        assert link.remote_id == 1


def test_a_desk_that_refuses_is_shown_on_the_dashboard(local_desk, client):
    with fake_chatwoot() as desk, receiver(WebhookDriver.ok_answer) as api:
        driver = _user_side(client, api)
        desk_row = _connect(driver.bot, desk, api_access_token="a-revoked-token")
        _escalate(driver, api)
        wait_for(lambda: services.summary(type(desk_row).objects.get(pk=desk_row.pk))["lastError"], WAIT, "the error")
        summary = services.summary(type(desk_row).objects.get(pk=desk_row.pk))
        assert "401" in summary["lastError"] and "a-revoked-token" not in json.dumps(summary, default=str)
        assert not desk.conversations


def test_settings_keep_secrets_and_the_connection_test_says_what_it_reached(local_desk):
    with fake_chatwoot() as desk:
        bot = create_bot(handoff_bot())
        desk_row = _connect(bot, desk)
        assert services.test_connection(bot) == (True, "Chatwoot: connected to inbox Flowstudio handoff (Channel::Api)")
        # Secrets left empty keep their value; a change of the inbox is kept.
        services.configure(bot, {"api_access_token": "", "webhook_secret": "", "inbox_id": "10"})
        desk_row.refresh_from_db()
        assert desk_row.secrets["api_access_token"] == desk.token and desk_row.inbox_id == 10
        assert desk.token not in desk_row.encrypted_secrets
        ok, message = services.test_connection(bot)
        assert not ok and "404" in message
        with pytest.raises(services.DeskError, match="account_id"):
            services.configure(bot, {"account_id": "zero"})
        with pytest.raises(services.DeskError, match="base_url"):
            services.configure(bot, {"base_url": "ftp://desk"})


def test_the_token_and_the_webhook_secret_reach_no_log_line(local_desk, client, caplog):
    caplog.set_level(logging.DEBUG)
    with fake_chatwoot(token="cw-canary-token-5b7d9f", webhook_secret="cw-canary-secret-3a5c7e") as desk, \
            receiver(WebhookDriver.ok_answer) as api:
        driver = _user_side(client, api)
        desk_row = _connect(driver.bot, desk)
        services.test_connection(driver.bot)
        _escalate(driver, api)
        _opened(desk)
        _post(client, desk_row, desk, desk.agent_reply(1, "hello from the desk"))
        _post(client, desk_row, desk, desk.agent_reply(1, "forged"), secret="cw-canary-secret-3a5c7e-not")
        services.configure(driver.bot, {"api_access_token": "cw-canary-token-revoked"})
        services.test_connection(driver.bot)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "HTTP Request" in logged or "help desk" in logged  # the capture saw the calls
    for canary in ("cw-canary-token-5b7d9f", "cw-canary-secret-3a5c7e", "cw-canary-token-revoked"):
        assert canary not in logged


def test_handed_back_in_the_studio_the_conversation_is_resolved_in_chatwoot(handed_off, django_user_model):
    desk, desk_row, driver, api, conversation = handed_off
    from runtime import handoff

    member = django_user_model.objects.create_user("ann@example.com", "ann@example.com", first_name="Ann")
    handoff.assign(conversation, member)
    handoff.hand_back(conversation)
    wait_for(lambda: desk.conversations[1]["status"] == "resolved", WAIT, "the desk conversation resolved")
    assert desk.statuses == [(1, "pending"), (1, "open"), (1, "resolved")]
    assert wait_for(lambda: DeskConversation.objects.filter(closed_at__isnull=False).exists(), WAIT, "closed")
    wait_for(lambda: "Back with the bot." in _said_to_user(driver, api), WAIT, "the bot back on the channel")
