"""Against the production server (scripts/serve.sh: uvicorn, two workers) and Redis: signals
reach a listener whatever process commits them, a removed participant's stream ends, and the webhook receives signed signals from a
real Celery worker, retried after a failure."""
import http.client
import http.server
import json
import queue
import threading
import time
import urllib.request
from urllib.parse import urlparse

import pytest

from integrations.chat_api import auth, services, webhooks
from runtime import turns

from .conftest import make_bot
from .server import celery_worker, live_server

pytestmark = pytest.mark.django_db(transaction=True)


class Listener:
    """Reads a listen stream on a thread; signals land in a queue."""

    def __init__(self, base, webhook_id, key, conversation_id, headers=None):
        url = urlparse(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        self.connection.request("GET", f"/chat/{webhook_id}/conversations/{conversation_id}/listen",
                                headers={"x-user-key": key, **(headers or {})})
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.signals: queue.Queue = queue.Queue()
        self.ended = threading.Event()
        self.comments = []
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    self.signals.put(json.loads(line[6:]))
                elif line.startswith(":"):
                    self.comments.append(line)
        except (OSError, AttributeError):  # closed by close() while reading (http.client sets fp to None)
            pass
        self.ended.set()

    def next(self, kind, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            signal = self.signals.get(timeout=max(0.01, deadline - time.monotonic()))
            if signal["type"] == kind:
                return signal["data"]

    def close(self):
        self.connection.close()


def _api(base, webhook_id, method, path, body=None, key=None):
    request = urllib.request.Request(f"{base}/chat/{webhook_id}{path}", method=method,
                                     data=json.dumps(body or {}).encode() if method != "GET" else None,
                                     headers={"Content-Type": "application/json", **({"x-user-key": key} if key else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_signals_committed_in_another_process_reach_the_listener(tmp_path):
    bot, row = make_bot()
    with live_server(tmp_path) as base:
        status, body = _api(base, row.webhook_id, "POST", "/users", {"id": "ada"})
        key = body["key"]
        conversation_id = _api(base, row.webhook_id, "POST", "/conversations", {}, key=key)[1]["conversation"]["id"]
        listener = Listener(base, row.webhook_id, key, conversation_id)
        assert listener.status == 200
        assert listener.response.getheader("Content-Type").startswith("text/event-stream")

        # This test process (not the server) stores a message and runs the turn.
        api = services.api_for_bot(bot.pk)
        conversation, message = services.create_message(api, key, conversation_id,
                                                         {"type": "text", "text": "from afar"}, None)
        turns.process_pending(conversation.pk)

        mine = listener.next("message_created")
        reply = listener.next("message_created")
        assert (mine["id"], mine["isBot"], mine["payload"]) == (str(message.pk), False,
                                                                {"type": "text", "text": "from afar"})
        assert (reply["isBot"], reply["payload"]["text"]) == (True, "from afar")
        listener.close()


def test_a_removed_participant_stream_ends_and_others_go_on(tmp_path):
    _, row = make_bot()
    with live_server(tmp_path) as base:
        owner_key = _api(base, row.webhook_id, "POST", "/users", {"id": "owner"})[1]["key"]
        guest_key = _api(base, row.webhook_id, "POST", "/users", {"id": "guest"})[1]["key"]
        conversation_id = _api(base, row.webhook_id, "POST", "/conversations", {}, key=owner_key)[1]["conversation"]["id"]
        _api(base, row.webhook_id, "POST", f"/conversations/{conversation_id}/participants", {"userId": "guest"},
             key=owner_key)
        owner = Listener(base, row.webhook_id, owner_key, conversation_id)
        guest = Listener(base, row.webhook_id, guest_key, conversation_id)
        _api(base, row.webhook_id, "DELETE", f"/conversations/{conversation_id}/participants/guest", key=owner_key)
        assert owner.next("participant_removed") == {"conversationId": conversation_id, "participantId": "guest"}
        assert guest.ended.wait(10), "the removed participant's stream stayed open"
        assert Listener(base, row.webhook_id, guest_key, conversation_id).status == 403
        _api(base, row.webhook_id, "POST", "/messages",
             {"conversationId": conversation_id, "payload": {"type": "text", "text": "still here"}}, key=owner_key)
        assert owner.next("message_created")["payload"]["text"] == "still here"
        owner.close()


def test_an_idle_stream_gets_heartbeat_comments(tmp_path):
    _, row = make_bot()
    with live_server(tmp_path, CHAT_API_HEARTBEAT_SECONDS="0.5") as base:
        key = _api(base, row.webhook_id, "POST", "/users", {})[1]["key"]
        conversation_id = _api(base, row.webhook_id, "POST", "/conversations", {}, key=key)[1]["conversation"]["id"]
        listener = Listener(base, row.webhook_id, key, conversation_id)
        assert listener.response.getheader("Cache-Control") == "no-cache"
        deadline = time.monotonic() + 10
        while listener.comments.count(": ping") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert listener.comments.count(": ping") >= 2, listener.comments
        assert listener.signals.empty()
        listener.close()


def test_a_stream_resumes_after_the_last_event_id(tmp_path):
    _, row = make_bot()
    with live_server(tmp_path) as base:
        key = _api(base, row.webhook_id, "POST", "/users", {})[1]["key"]
        conversation_id = _api(base, row.webhook_id, "POST", "/conversations", {}, key=key)[1]["conversation"]["id"]
        for text in ("one", "two"):
            _api(base, row.webhook_id, "POST", "/messages",
                 {"conversationId": conversation_id, "payload": {"type": "text", "text": text}}, key=key)
        # seqs: 1 one, 2 echo, 3 two, 4 echo. Resuming after 2 gives exactly 3 and 4.
        listener = Listener(base, row.webhook_id, key, conversation_id, headers={"Last-Event-ID": "2"})
        texts = [listener.next("message_created")["payload"]["text"] for _ in range(2)]
        assert texts == ["two", "two"]
        assert listener.signals.empty()
        listener.close()


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list = []
    fail_first = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail_first:
            _Receiver.fail_first = False
            self.send_response(500)
            self.end_headers()
            return
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_webhook_gets_signed_signals_from_a_celery_worker_with_a_retry(tmp_path, settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]  # the receiver is local
    bot, row = make_bot()
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    _Receiver.received, _Receiver.fail_first = [], True
    row = services.update_chat_api(bot, webhook_url=f"http://127.0.0.1:{receiver.server_port}/hook",
                                   webhook_secret="s3cret-for-the-test")
    try:
        with celery_worker(tmp_path, FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS="127.0.0.1") as queue_name, \
                live_server(tmp_path, CHAT_API_CELERY_QUEUE=queue_name) as base:
            key = auth.user_key(row.encryption_key, "hooked")
            _api(base, row.webhook_id, "POST", "/users/get-or-create", key=key)
            conversation_id = _api(base, row.webhook_id, "POST", "/conversations", {}, key=key)[1]["conversation"]["id"]
            _api(base, row.webhook_id, "POST", "/messages",
                 {"conversationId": conversation_id, "payload": {"type": "text", "text": "hook me"}}, key=key)
            deadline = time.monotonic() + 60
            while len(_Receiver.received) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            worker_log = (tmp_path / "worker.log").read_text()
    finally:
        receiver.shutdown()

    assert len(_Receiver.received) == 2, worker_log[-3000:]
    signals = []
    for headers, body in _Receiver.received:
        assert webhooks.verify("s3cret-for-the-test", headers["X-Chat-Webhook-Timestamp"], body,
                               headers["X-Chat-Webhook-Signature"])
        assert not webhooks.verify("another secret", headers["X-Chat-Webhook-Timestamp"], body,
                                   headers["X-Chat-Webhook-Signature"])
        assert "s3cret-for-the-test" not in json.dumps(headers) + body.decode()
        signals.append(json.loads(body))
    # The first delivery failed once and was retried; both signals arrived.
    assert sorted((s["type"], s["data"]["isBot"], s["data"]["payload"]["text"]) for s in signals) == [
        ("message_created", False, "hook me"), ("message_created", True, "hook me")]
    assert "Retry in" in worker_log or "retry" in worker_log.lower()


def test_signing_is_hmac_of_timestamp_and_body():
    body = b'{"type":"message_created"}'
    signature = webhooks.sign("k", 1700000000, body)
    import hashlib
    import hmac

    assert signature == "sha256=" + hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    now = int(time.time())
    assert webhooks.verify("k", str(now), body, webhooks.sign("k", now, body))
    assert not webhooks.verify("k", str(now - 3600), body, webhooks.sign("k", now - 3600, body))  # too old
    assert not webhooks.verify("k", str(now), body + b" ", webhooks.sign("k", now, body))  # body changed
