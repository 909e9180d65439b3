"""Webhook delivery through the outbound guard: internal URLs are refused when saved and
when sent, the allow-list lets a local receiver through, and retries follow the receiver's
answers (5xx, 408 and 429 retried, other 4xx not), counted at a real local HTTP server."""
import json
import time

import pytest

from integrations.chat_api import services, tasks, webhooks
from integrations.chat_api.errors import InvalidPayload
from integrations.chat_api.models import ChatApiSettings
from runtime.tests.receiver import receiver
from studio.celery import app as celery_app

from .conftest import make_bot
from .server import celery_worker

pytestmark = pytest.mark.django_db(transaction=True)

SIGNAL = {"type": "message_created", "data": {"id": "m1", "payload": {"type": "text", "text": "hi"}}}


@pytest.fixture(autouse=True)
def _eager_retries_run_in_place():
    # With eager propagation (the project's setting) Celery raises a retry's retry out of
    # apply(); off, each retry runs again at once in the test, as a worker would run it later.
    conf = tasks.deliver_webhook.app.conf
    before = conf.task_eager_propagates
    conf.task_eager_propagates = False
    yield
    conf.task_eager_propagates = before


def _deliver(bot, delivery_id="d-1"):
    return tasks.deliver_webhook.apply(args=(str(bot.pk), SIGNAL, delivery_id))


def _store_url_unchecked(row, url):
    # As a URL saved before the guard existed, or one whose name now resolves elsewhere.
    ChatApiSettings.objects.filter(pk=row.pk).update(webhook_url=url)
    services.forget_cached_settings()


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8080/hook",
                                 "http://localhost/hook", "http://[::ffff:127.0.0.1]/hook"])
def test_an_internal_webhook_url_is_refused_when_saved(url):
    bot, row = make_bot()
    with pytest.raises(InvalidPayload, match="webhook URL .* is refused: .* the server does not fetch"):
        services.update_chat_api(bot, webhook_url=url)
    assert ChatApiSettings.objects.get(pk=row.pk).webhook_url == ""


def test_an_internal_webhook_url_is_refused_when_sent(caplog):
    bot, row = make_bot()
    with receiver((200, {}, b"")) as rx:
        _store_url_unchecked(row, rx.url + "/hook")
        _deliver(bot)
        _store_url_unchecked(row, "http://169.254.169.254/latest/meta-data/")
        _deliver(bot)
    assert rx.requests == []
    refused = [r.getMessage() for r in caplog.records if "not delivered (not retried)" in r.getMessage()]
    assert len(refused) == 2 and "loopback" in refused[0] and "link-local" in refused[1]


def test_an_allowed_host_receives_signed_signals_with_a_delivery_id(settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    bot, _ = make_bot()
    with receiver((200, {}, b"")) as rx:
        services.update_chat_api(bot, webhook_url=rx.url + "/hook", webhook_secret="s3cret")
        _deliver(bot, delivery_id="delivery-42")
    [(method, path, headers, body)] = rx.requests
    assert (method, path, json.loads(body)) == ("POST", "/hook", SIGNAL)
    assert headers["X-Chat-Webhook-Delivery"] == "delivery-42"
    assert webhooks.verify("s3cret", headers["X-Chat-Webhook-Timestamp"], body, headers["X-Chat-Webhook-Signature"])


@pytest.mark.parametrize("answers, expected_requests", [
    ([(500, {}, b"down"), (200, {}, b"")], 2),
    ([(502, {}, b""), (503, {}, b""), (200, {}, b"")], 3),
    ([(408, {}, b""), (200, {}, b"")], 2),
    ([(429, {"Retry-After": "0"}, b""), (200, {}, b"")], 2),
    ([(500, {}, b"")], 1 + tasks.MAX_RETRIES),  # gives up after MAX_RETRIES retries
    ([(400, {}, b"bad")], 1),  # the receiver refuses: no retry
    ([(404, {}, b"")], 1),
    ([(410, {}, b"")], 1),
])
def test_retries_follow_the_receivers_answers(settings, answers, expected_requests):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    bot, _ = make_bot()
    with receiver(*answers) as rx:
        services.update_chat_api(bot, webhook_url=rx.url + "/hook")
        result = _deliver(bot, delivery_id="same-id")
    assert len(rx.requests) == expected_requests
    # Only the delivery that gave up fails, with the receiver's last answer.
    gave_up = expected_requests == 1 + tasks.MAX_RETRIES
    assert result.failed() == gave_up and (not gave_up or "answered 500" in str(result.result))
    # Every retry carries the same delivery id, so a receiver can skip one it has seen.
    assert {r[2]["X-Chat-Webhook-Delivery"] for r in rx.requests} == {"same-id"}


def test_a_celery_worker_honours_retry_after_then_backs_off(tmp_path, settings):
    """A real worker: 429 with Retry-After: 3 waits at least 3 s, a 500 then retries with
    Celery's backoff, and the third attempt is delivered."""
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    bot, _ = make_bot()
    stamps = []
    with receiver((429, {"Retry-After": "3"}, b""), (500, {}, b""), (200, {}, b"")) as rx:
        services.update_chat_api(bot, webhook_url=rx.url + "/hook")
        with celery_worker(tmp_path, FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS="127.0.0.1") as queue_name:
            celery_app.send_task(tasks.deliver_webhook.name, (str(bot.pk), SIGNAL, "d-worker"), queue=queue_name)
            deadline = time.monotonic() + 60
            while len(rx.requests) < 3 and time.monotonic() < deadline:
                if len(rx.requests) > len(stamps):
                    stamps.append(time.monotonic())
                time.sleep(0.05)
            stamps.append(time.monotonic())
            log = (tmp_path / "worker.log").read_text()
    assert len(rx.requests) == 3, log[-3000:]
    assert stamps[1] - stamps[0] >= 2.9, stamps
    assert {r[2]["X-Chat-Webhook-Delivery"] for r in rx.requests} == {"d-worker"}
