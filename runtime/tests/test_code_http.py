"""The `axios` helper of Execute Code over real sockets: a local receiver (allowed through
the outbound guard for its one port, as FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS would), the bot's
allow-list, limits, errors, and configuration secrets kept out of the trace."""
import json
import time

import pytest

from flows import services
from flows.models import ConfigValue
from runtime import outbound, turns
from runtime.tests.bots import create_bot
from runtime.tests.receiver import receiver

pytestmark = pytest.mark.django_db(transaction=True)


def code_bot(code, *, allow=("127.0.0.1",), **http):
    return {
        "format": "flowstudio.bot/1",
        "name": "HTTP",
        "settings": {"http": {"allowHosts": list(allow), **http}},
        "config": [{"name": "API_KEY"}],
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "go"},
            {"id": "go", "kind": "standard", "cards": [
                {"id": "call", "type": "code", "code": code},
                {"id": "say", "type": "text", "text": "{{workflow.out}}"},
            ]},
        ]}],
    }


@pytest.fixture
def allowed():
    """A receiver the guard lets through on its port only (loopback stays refused elsewhere)."""
    opened = []

    def open_(*answers):
        manager = receiver(*answers)
        rx = manager.__enter__()
        outbound.allow_endpoint("127.0.0.1", rx.port)
        opened.append((manager, rx))
        return rx

    yield open_
    for manager, rx in opened:
        outbound.forget_endpoint("127.0.0.1", rx.port)
        manager.__exit__(None, None, None)


def run(definition, text="go", secret="s3cr3t-key-value"):
    bot = create_bot(definition)
    services.set_config_value(bot, "API_KEY", ConfigValue.PRODUCTION, secret)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))
    event = turns.receive_event(conversation, "text", {"text": text})
    started = time.monotonic()
    outcome = turns.process_event_now(event)
    outcome.elapsed = time.monotonic() - started
    return outcome


def said(outcome):
    return [m.payload.get("text") for m in outcome.messages]


def test_get_with_a_secret_header_and_query_the_trace_stars_the_secret(allowed):
    rx = allowed((200, {"Content-Type": "application/json"}, b'{"order": {"id": 7, "state": "shipped"}}'))
    outcome = run(code_bot(
        f"const r = await axios.get('{rx.url}/orders/7', {{ params: {{ key: env.API_KEY }}, "
        f"headers: {{ Authorization: 'Bearer ' + env.API_KEY }} }});\n"
        "workflow.out = r.status + ' ' + r.data.order.state + ' ' + r.headers['content-type'];"))
    assert said(outcome) == ["200 shipped application/json"], [t for t in outcome.trace if t["type"] in ("error", "http_request")]
    method, path, headers, _ = rx.requests[0]
    assert (method, path) == ("GET", "/orders/7?key=s3cr3t-key-value")
    assert headers["Authorization"] == "Bearer s3cr3t-key-value"
    calls = [t for t in outcome.trace if t["type"] == "http_request"]
    assert calls and calls[0]["url"] == f"{rx.url}/orders/7?key=***" and calls[0]["status"] == 200
    assert "s3cr3t-key-value" not in json.dumps(outcome.trace) + json.dumps(outcome.logs)


def test_post_sends_json_and_a_4xx_rejects_with_the_response(allowed):
    rx = allowed((422, {"Content-Type": "application/json"}, b'{"error": "bad sku"}'))
    outcome = run(code_bot(
        f"try {{ await axios.post('{rx.url}/orders', {{ sku: 'A1', qty: 2 }}); workflow.out = 'no'; }}\n"
        "catch (e) { workflow.out = e.message + ' / ' + e.response.status + ' ' + e.response.data.error; }"))
    assert said(outcome) == ["Request failed with status code 422 / 422 bad sku"]
    method, path, headers, body = rx.requests[0]
    assert (method, path, json.loads(body)) == ("POST", "/orders", {"sku": "A1", "qty": 2})
    assert headers["Content-Type"] == "application/json"


def test_a_host_missing_from_the_allow_list_is_refused_before_any_connection(allowed):
    rx = allowed((200, {}, b"ok"))
    outcome = run(code_bot(
        f"try {{ await axios.get('{rx.url}/x'); }} catch (e) {{ workflow.out = e.code + ': ' + e.message; }}",
        allow=["api.example.com"]))
    assert said(outcome) == ["ERR_HOST_NOT_ALLOWED: axios: host 127.0.0.1 is not in the bot's settings.http.allowHosts"]
    assert rx.requests == []


def test_loopback_is_refused_by_the_guard_even_when_the_bot_lists_it():
    with receiver((200, {}, b"ok")) as rx:  # not allowed through the guard
        outcome = run(code_bot(
            f"try {{ await axios.get('{rx.url}/x'); }} catch (e) {{ workflow.out = e.code + ': ' + e.message; }}"))
        assert rx.requests == []
    assert said(outcome)[0].startswith("ERR_REFUSED: axios: 127.0.0.1 is a loopback address")


def test_a_response_over_the_size_limit_fails_the_request(allowed):
    rx = allowed((200, {}, b"x" * 5000))
    outcome = run(code_bot(
        f"try {{ await axios.get('{rx.url}/big'); }} catch (e) {{ workflow.out = e.code + ': ' + e.message; }}",
        maxResponseBytes=1000))
    assert said(outcome) == [f"ERR_NETWORK: axios: {rx.url}/big answered 5000 bytes; the limit is 1000"]


def test_a_slow_server_times_out_at_the_request_timeout_inside_the_code_limit(allowed):
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts, never answers
    port = silent.getsockname()[1]
    outbound.allow_endpoint("127.0.0.1", port)
    try:
        outcome = run(code_bot(
            f"try {{ await axios.get('http://127.0.0.1:{port}/', {{ timeout: 300 }}); }}"
            " catch (e) { workflow.out = e.code; }"))
        elapsed = outcome.elapsed
    finally:
        outbound.forget_endpoint("127.0.0.1", port)
        silent.close()
    assert said(outcome) == ["ECONNABORTED"]
    assert elapsed < 1.2


def test_a_request_never_outlives_the_code_time_limit(allowed):
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    outbound.allow_endpoint("127.0.0.1", port)
    try:
        outcome = run(code_bot(f"await axios.get('http://127.0.0.1:{port}/'); workflow.out = 'no';", timeoutMs=30000))
        elapsed = outcome.elapsed
    finally:
        outbound.forget_endpoint("127.0.0.1", port)
        silent.close()
    # The default sandbox limit is 2 s: the request was cut there and the card failed.
    assert 1.9 < elapsed < 3
    assert "no" not in said(outcome)
    # Either the request is cut when the run's time is up (it was given only what was left)
    # and the unhandled rejection fails the card, or the run's own limit fires first.
    errors = [t.get("message", "") for t in outcome.trace if t["type"] == "error"]
    assert any("did not finish within 2000 ms" in m or "timed out" in m for m in errors), errors


def test_hooks_call_out_with_axios_and_change_what_the_turn_sees_and_sends(allowed):
    rx = allowed((200, {"Content-Type": "application/json"}, b'{"lang": "fr"}'), (204, {}, b""))
    definition = code_bot("workflow.out = 'heard ' + event.payload.text;")
    definition["hooks"] = [
        {"name": "detect", "type": "before_incoming",
         "code": f"const r = await axios.post('{rx.url}/detect', {{ text: event.payload.text }});\n"
                 "event.payload.text = event.payload.text + ' (' + r.data.lang + ')';"},
        {"name": "shout", "type": "before_outgoing",
         "code": "outgoingEvent.payload.text = outgoingEvent.payload.text.toUpperCase();"},
        {"name": "stats", "type": "after_turn",
         "code": f"await axios.post('{rx.url}/stats', {{ replies: outgoing.length, key: env.API_KEY }});"},
    ]
    outcome = run(definition, text="bonjour")
    assert said(outcome) == ["HEARD BONJOUR (FR)"]
    assert [(r[0], r[1], json.loads(r[3])) for r in rx.requests] == [
        ("POST", "/detect", {"text": "bonjour"}),
        ("POST", "/stats", {"replies": 1, "key": "s3cr3t-key-value"}),
    ]
    assert "s3cr3t-key-value" not in json.dumps(outcome.trace) + json.dumps(outcome.logs)
    # The transcript keeps what the user sent; the hook changed only what the turn saw.
    assert outcome.event.payload == {"text": "bonjour"}


def test_a_failing_hook_call_is_logged_and_the_turn_still_answers(allowed):
    rx = allowed((500, {}, b"down"))
    definition = code_bot("workflow.out = 'fine';")
    definition["hooks"] = [{"name": "stats", "type": "after_turn", "code": f"await axios.get('{rx.url}/stats');"}]
    outcome = run(definition)
    assert said(outcome) == ["fine"]
    assert any(log["source"] == "hook" and "Request failed with status code 500" in log["message"]
               for log in outcome.logs)
