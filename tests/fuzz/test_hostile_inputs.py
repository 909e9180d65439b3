"""The hostile-input table (issue 14, item 7): JSON nested 5,000 levels, 900 levels inside a
field, a NUL character and a lone surrogate, dropped into every field that reaches storage
on every surface, plus bodies over each limit. Every answer must be a 4xx in the surface's
own error shape that says what is wrong and names where (the JSON path), and nothing may
be stored. Each surface is one test walking its whole table, so a failure lists every case
that went wrong at once."""
from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote

import pytest
from django.test import Client

from flows import services as flow_services
from flows.models import Bot, KnowledgeBase, KnowledgeSource, TableRow
from integrations.chat_api.tests import asgi_client
from integrations.chat_api.tests.conftest import ChatApi, make_bot
from runtime.models import Conversation, EndUser, Event, Message
from tests.api.conftest import make_world

from .conftest import HOSTILE, SAYS

MINIMAL_BOT = '{"format": "flowstudio.bot/1", "name": %s, "flows": [{"name": "main", "nodes": [' \
              '{"id": "start", "kind": "start", "next": null}]}]}'
AGENTS_BOT = '{"format": "flowstudio.bot/1", "name": "n", "agents": {"planner": %s}, "flows": [' \
             '{"name": "main", "nodes": [{"id": "start", "kind": "start", "next": null}]}]}'


def _fill(template: str, value: str) -> str:
    return template.replace("%s", value)


def _stored_counts():
    return (Bot.objects.count(), Conversation.objects.count(), EndUser.objects.count(), Message.objects.count(),
            Event.objects.count())


# ---- Chat API (no login: anyone on the internet) --------------------------------------------

def test_chat_api_refuses_every_hostile_body_with_its_path(transactional_db, fresh_chat_api):
    _, row = make_bot()
    chat = ChatApi(row)
    _, key = chat.user()
    conversation = chat.conversation(key)
    text_payload = '{"type": "text", "text": "hi"}'
    table = [  # (method, path, body template, the JSON path the answer must name, with a key)
        ("POST", "/users", "%s", "$", False),
        ("POST", "/users", '{"name": %s}', "$.name", False),
        ("POST", "/users", '{"id": "u1", "pictureUrl": %s}', "$.pictureUrl", False),
        ("POST", "/users/get-or-create", '{"name": %s}', "$.name", True),
        ("PUT", "/users/me", '{"name": %s}', "$.name", True),
        ("POST", "/conversations", '{"id": %s}', "$.id", True),
        ("POST", "/conversations/get-or-create", '{"id": %s}', "$.id", True),
        ("POST", f"/conversations/{conversation}/participants", '{"userId": %s}', "$.userId", True),
        ("POST", "/messages", '{"conversationId": "%c", "payload": {"type": "text", "text": %s}}',
         "$.payload.text", True),
        ("POST", "/messages", '{"conversationId": "%c", "payload": ' + text_payload + ', "metadata": {"k": %s}}',
         "$.metadata.k", True),
        ("POST", "/messages", '{"conversationId": %s, "payload": ' + text_payload + '}', "$.conversationId", True),
        ("POST", "/events", '{"conversationId": "%c", "payload": {"k": %s}}', "$.payload.k", True),
    ]
    before = _stored_counts()
    wrong = []
    for method, path, template, where, with_key in table:
        for name, value in HOSTILE.items():
            raw = _fill(template, value).replace("%c", conversation)
            status, body = chat.call(method, path, raw=raw, key=key if with_key else None)
            message = body.get("message", "")
            if (status, body.get("type")) != (400, "InvalidPayload") or SAYS[name] not in message \
                    or f"at {where}" not in message:
                wrong.append((method, path, name, status, message[:200]))
    assert wrong == []
    assert _stored_counts() == before


def test_chat_api_refuses_nul_in_paths_and_oversized_bodies(transactional_db, fresh_chat_api):
    _, row = make_bot()
    chat = ChatApi(row)
    _, key = chat.user()
    for path in ("/chat/%00/hello", "/chat/\x00/hello", f"{chat.prefix}/conversations/\x00",
                 f"{chat.prefix}/messages/\x00"):
        status, _, content = asgi_client.request("GET", path.replace("%00", "\x00"), headers={"x-user-key": key})
        body = json.loads(content)
        assert (status, body["type"]) == (404, "ResourceNotFound"), (path, body)
        assert "NUL character or a lone surrogate" in body["message"]
    status, body = chat.call("GET", "/conversations", key=key, nextToken="a\x00b")
    assert (status, body["type"]) == (400, "InvalidPayload") and "NUL" in body["message"]
    status, body = chat.call("POST", "/messages", raw='{"payload": "' + "x" * (1024 * 1024 + 1) + '"}', key=key)
    assert (status, body["type"]) == (413, "PayloadTooLarge")


@pytest.mark.parametrize("key", ["abc", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpZCI6InUifQ.", "x" * 5000, "\u00e9.\u00e9.\u00e9"])
def test_chat_api_401s_do_not_echo_the_jwt_library(transactional_db, fresh_chat_api, key):
    _, row = make_bot()
    status, body = ChatApi(row).call("GET", "/users/me", key=key)
    assert (status, body["type"]) == (401, "Unauthorized")
    assert body["message"].startswith("invalid x-user-key: it ")
    for internal in ("segments", "padding", "Signature verification", "Invalid header", "Invalid crypto",
                     "Invalid payload", "utf-8", "codec", "alg"):
        assert internal not in body["message"], body["message"]


# ---- REST API ---------------------------------------------------------------------------------

def test_rest_api_refuses_every_hostile_body_and_filter_with_its_path(db):
    world = make_world()
    client = world.client("owner")
    bot = f"/api/v1/bots/{world.bot.pk}"
    revision = world.bot.draft_revision
    table = [  # (method, url, body template or None for a query, the path the answer names)
        ("POST", f"/api/v1/workspaces/{world.workspace.slug}/bots/import", MINIMAL_BOT, "$.name"),
        ("POST", f"/api/v1/workspaces/{world.workspace.slug}/bots/import", AGENTS_BOT, "$.agents.planner"),
        ("POST", f"/api/v1/workspaces/{world.workspace.slug}/bots", '{"name": %s}', "$.name"),
        ("PUT", f"{bot}/definition", '{"baseRevision": %d, "definition": ' % revision + MINIMAL_BOT + "}",
         "$.definition.name"),
        ("PUT", f"{bot}/definition", '{"baseRevision": %d, "definition": ' % revision + AGENTS_BOT + "}",
         "$.definition.agents.planner"),
        ("PATCH", bot, '{"name": %s}', "$.name"),
        ("PATCH", f"{bot}/conversations/conv-1", '{"tags": {"topic": %s}}', "$.tags.topic"),
        ("PATCH", f"{bot}/users/visitor-1", '{"tags": {"plan": %s}}', "$.tags.plan"),
        ("POST", f"{bot}/states/conversation/conv-1/context", '{"payload": {"cart": %s}}', "$.payload.cart"),
        ("POST", f"{bot}/states/user/visitor-1/profile/get-or-set", '{"payload": %s}', "$.payload"),
        ("GET", f"{bot}/conversations?tags=", '{"topic": %s}', "$query.tags"),
        ("GET", f"{bot}/users?tags=", '{"topic": %s}', "$query.tags"),
        ("GET", f"{bot}/conversations/conv-1/messages?tags=", '{"topic": %s}', "$query.tags"),
    ]
    before = _stored_counts()
    draft_before = world.bot.draft
    wrong = []
    for method, url, template, where in table:
        for name, value in HOSTILE.items():
            raw = _fill(template, value)
            if method == "GET":
                response = client.get(url + quote(raw))
            else:
                response = client.generic(method, url, raw, content_type="application/json")
            error = response.json().get("error", {}) if response.headers["content-type"].startswith(
                "application/json") else {}
            details = error.get("details", [])
            says = [SAYS[name]] + (["the limit is 16384"] if method == "GET" else [])  # 30 KB is no filter
            named = any(d["path"].startswith(where) and any(s in d["message"] for s in says) for d in details)
            if response.status_code != 400 or not named:
                wrong.append((method, url, name, response.status_code, str(error)[:200]))
    assert wrong == []
    assert _stored_counts() == before
    world.bot.refresh_from_db()
    assert (world.bot.draft_revision, world.bot.draft) == (revision, draft_before)


def test_rest_api_refuses_a_nul_in_the_path_and_a_body_over_the_limit(db, settings):
    world = make_world()
    client = world.client("owner")
    response = client.get(f"/api/v1/bots/{world.bot.pk}/conversations/a%00b")
    assert response.status_code == 404 and "NUL" in response.json()["error"]["message"]
    settings.FLOWSTUDIO_API_MAX_BODY_BYTES = 1000
    response = client.generic("POST", f"/api/v1/workspaces/{world.workspace.slug}/bots",
                              json.dumps({"name": "x" * 2000}), content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")


def test_tables_api_refuses_every_hostile_body_and_filter_with_its_path(db):
    world = make_world()
    client = world.client("owner")
    definition = json.loads(json.dumps(world.bot.draft))
    definition["tables"] = [{"name": "Orders", "columns": [{"name": "item", "type": "string", "searchable": True}]}]
    flow_services.replace_draft(world.bot, definition, base_revision=None)
    tables = f"/api/v1/bots/{world.bot.pk}/tables"
    orders = f"{tables}/Orders"
    rows_before = list(TableRow.objects.values_list("table", "data"))  # make_world's own rows
    table = [  # (url, body template, the path the answer names)
        (tables, '{"name": %s, "columns": []}', "$.name"),
        (f"{orders}/rows", '{"rows": [{"item": %s}]}', "$.rows[0].item"),
        (f"{orders}/rows/upsert", '{"rows": [{"item": %s}], "keyColumn": "item"}', "$.rows[0].item"),
        (f"{orders}/rows/find", '{"filter": {"item": %s}}', "$.filter.item"),
        (f"{orders}/rows/find", '{"search": %s}', "$.search"),
        (f"{orders}/rows/delete", '{"filter": %s}', "$.filter"),
        (f"{orders}/import", '{"csv": %s}', "$.csv"),
    ]
    wrong = []
    for url, template, where in table:
        for name, value in HOSTILE.items():
            response = client.generic("POST", url, _fill(template, value), content_type="application/json")
            details = response.json().get("error", {}).get("details", [])
            if response.status_code != 400 or not any(
                    d["path"].startswith(where) and SAYS[name] in d["message"] for d in details):
                wrong.append((url, name, response.status_code, str(details)[:200]))
    assert wrong == []
    assert list(TableRow.objects.values_list("table", "data")) == rows_before
    world.bot.refresh_from_db()
    assert [t["name"] for t in world.bot.draft["tables"]] == ["Orders"]


def test_knowledge_api_refuses_every_hostile_body_with_its_path(db):
    world = make_world()
    client = world.client("owner")
    kbs = f"/api/v1/bots/{world.bot.pk}/knowledge-bases"
    kb = f"{kbs}/{world.kb.pk}"
    table = [  # (method, url, body template, the path the answer names)
        ("POST", kbs, '{"name": %s}', "$.name"),
        ("POST", kbs, '{"name": "Pricing", "description": %s}', "$.description"),
        ("POST", kbs, '{"name": "Pricing", "folder": %s}', "$.folder"),
        ("PATCH", kb, '{"description": %s}', "$.description"),
        ("POST", f"{kb}/sources", '{"kind": "text", "name": "Shipping", "text": %s}', "$.text"),
        ("POST", f"{kb}/sources", '{"kind": "text", "name": %s, "text": "We ship."}', "$.name"),
        ("POST", f"{kb}/sources", '{"kind": "url", "url": %s}', "$.url"),
        ("POST", f"{kbs}/search", '{"query": %s}', "$.query"),
    ]
    before = (KnowledgeBase.objects.count(), KnowledgeSource.objects.count())
    wrong = []
    for method, url, template, where in table:
        for name, value in HOSTILE.items():
            response = client.generic(method, url, _fill(template, value), content_type="application/json")
            details = response.json().get("error", {}).get("details", [])
            if response.status_code != 400 or not any(
                    d["path"].startswith(where) and SAYS[name] in d["message"] for d in details):
                wrong.append((method, url, name, response.status_code, str(details)[:200]))
    assert wrong == []
    assert (KnowledgeBase.objects.count(), KnowledgeSource.objects.count()) == before
    world.kb.refresh_from_db()
    assert world.kb.description == "Shipping and returns"


# ---- the dashboard --------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["q", "tag", "channel", "status"])
def test_dashboard_filters_refuse_a_nul_with_the_field_named(db, field):
    # A NUL reached PostgreSQL's full-text search as a 500 before the filters checked for it.
    world = make_world()
    client = Client()
    client.force_login(world.users["owner"])
    base = f"/bots/{world.bot.pk}/conversations"
    page = client.get(f"{base}/?{field}=a%00b")
    assert page.status_code == 400
    assert f"{field}: contains the NUL character" in page.content.decode()
    export = client.get(f"{base}/export.csv?{field}=a%00b")
    assert (export.status_code, export.content.decode().split(":")[0]) == (400, field)


# ---- the editor ---------------------------------------------------------------------------

def test_editor_refuses_every_hostile_body_with_its_path(db):
    world = make_world()
    client = Client()
    client.force_login(world.users["owner"])
    base = f"/bots/{world.bot.pk}/editor"
    revision = world.bot.draft_revision
    table = [  # (method, url, body template, the error code, the path the answer names)
        ("PUT", f"{base}/draft", '{"baseRevision": %d, "document": ' % revision + MINIMAL_BOT + "}",
         "invalid_document", "$.name"),
        ("PUT", f"{base}/draft", '{"baseRevision": %d, "document": ' % revision + AGENTS_BOT + "}",
         "invalid_document", "$.agents.planner"),
        ("PUT", f"{base}/layout", '{"baseRevision": %d, "layout": {"main": {"start": %%s}}}' % revision,
         "bad_request", "$.layout.main.start"),
        ("POST", f"{base}/publish", '{"baseRevision": %d, "note": %%s}' % revision, "bad_request", "$.note"),
        ("POST", f"/bots/{world.bot.pk}/emulator/tests", '{"name": %s}', "bad_request", "$.name"),
    ]
    wrong = []
    for method, url, template, code, where in table:
        for name, value in HOSTILE.items():
            raw = _fill(template, value)
            response = client.generic(method, url, raw, content_type="application/json")
            error = response.json().get("error", {})
            named = any(d["path"].startswith(where) and SAYS[name] in d["message"] for d in error.get("details", []))
            if (response.status_code, error.get("code")) != (400, code) or not named:
                wrong.append((method, url, name, response.status_code, str(error)[:200]))
    for name, value in HOSTILE.items():
        upload = io.BytesIO(_fill(AGENTS_BOT, value).encode())
        upload.name = "hostile.bot.json"
        response = client.post(f"{base}/import", {"file": upload, "baseRevision": revision})
        error = response.json().get("error", {})
        named = any(d["path"].startswith("$.agents.planner") and SAYS[name] in d["message"]
                    for d in error.get("details", []))
        if (response.status_code, error.get("code")) != (400, "invalid_bot_file") or not named:
            wrong.append(("import", name, response.status_code, str(error)[:200]))
    assert wrong == []
    world.bot.refresh_from_db()
    assert world.bot.draft_revision == revision
    response = client.generic("PUT", f"{base}/draft", '{"document": "' + "x" * (6 * 1024 * 1024) + '"}',
                              content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large")


# ---- the webchat's HTTP fallback ------------------------------------------------------------

def test_webchat_fallback_refuses_every_hostile_body_with_its_path(db):
    world = make_world()
    client = Client()
    base = f"/webchat/{world.bot.pk}/api"
    table = [
        ("session", '{"type": "hello", "userId": %s}', "$.userId"),
        ("session", "%s", "$"),
        ("send", '{"frame": {"type": "message", "payload": {"type": "text", "text": %s}}}', "$.frame.payload.text"),
        ("send", '{"frame": {"type": "event", "payload": {"k": %s}}}', "$.frame.payload.k"),
        ("send", '{"frame": {"type": "user", "data": {"k": %s}}}', "$.frame.data.k"),
    ]
    before = _stored_counts()
    wrong = []
    for endpoint, template, where in table:
        for name, value in HOSTILE.items():
            response = client.post(f"{base}/{endpoint}", _fill(template, value), content_type="application/json",
                                   headers={"origin": "https://shop.example.com"})
            frame = response.json()
            if (response.status_code, frame.get("type"), frame.get("code")) != (400, "error", "bad_request") \
                    or f"{where}" not in frame.get("message", "") or SAYS[name] not in frame["message"]:
                wrong.append((endpoint, name, response.status_code, str(frame)[:200]))
    response = client.post(f"{base}/send", '{"frame": "' + "x" * (70 * 1024) + '"}', content_type="application/json")
    assert response.status_code == 400 and "limit" in response.json()["message"]
    assert wrong == []
    assert _stored_counts() == before


# ---- log lines --------------------------------------------------------------------------------

def test_control_characters_from_a_url_do_not_reach_a_log_line_raw():
    from studio.log_filters import EscapeControlCharacters

    [console] = [h for h in logging.getLogger().handlers
                 if any(isinstance(f, EscapeControlCharacters) for f in h.filters)]
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        logging.getLogger("integrations.chat_api.asgi").error(
            "Chat API %s %s failed", "GET", "/chat/x/hello\r\nERROR forged line\x00\ud800")
    finally:
        console.setStream(previous)
    written = stream.getvalue()
    assert written == "Chat API GET /chat/x/hello\\r\\nERROR forged line\\x00\\ud800 failed\n"


@pytest.mark.parametrize("page, field", [("logs", "q"), ("logs", "level"), ("events", "type"),
                                         ("events", "direction"), ("analytics", "channel")])
def test_operations_pages_refuse_a_nul_with_the_field_named(db, page, field):
    world = make_world()
    client = Client()
    client.force_login(world.users["owner"])
    response = client.get(f"/bots/{world.bot.pk}/{page}/?{field}=a%00b")
    assert response.status_code == 400
    assert f"{field}: contains the NUL character" in response.content.decode()
    if page == "logs":
        assert client.get(f"/bots/{world.bot.pk}/logs/tail/?{field}=a%00b").status_code == 400


def test_chatbot_settings_refuse_a_nul_with_the_field_named(db):
    world = make_world()
    client = Client()
    client.force_login(world.users["owner"])
    before = Bot.objects.get(pk=world.bot.pk).draft
    value = "a\x00b"
    response = client.post(f"/bots/{world.bot.pk}/settings/", {
        "inactivityTimeoutMinutes": "5", "nodeRepetitionLimit": "5", "languages": "en", "defaultLanguage": "en",
        "fallbackMessage": value})
    assert response.status_code == 400
    assert "Fallback message: contains" in response.content.decode()
    assert Bot.objects.get(pk=world.bot.pk).draft == before


# ---- Webhook triggers (no login: anyone holding the secret) -----------------------------------

def test_webhook_trigger_refuses_every_hostile_body_with_its_path(db):
    """Signed with the right secret, so each body gets past the signature check to the JSON
    checks; a NUL or lone surrogate in the query's ids too, and a body over 256 KiB."""
    from integrations.triggers.tests.test_webhook_trigger import hook_bot
    from runtime import triggers
    from runtime.tests.bots import create_bot

    bot = create_bot(hook_bot())
    secret = triggers.webhook_secret(bot, "main", "paid")
    path = triggers.webhook_path(bot, "main", "paid")
    client = Client()

    def post(raw: bytes, query: str = ""):
        answer = client.post(path + query, data=raw, content_type="application/json",
                             headers={"X-Flowstudio-Signature": triggers.signature(secret, raw)})
        return answer.status_code, answer.json().get("error", "")

    table = [("%s", "$"), ('{"order": %s}', "$.order"), ('{"order": {"id": 1, "note": %s}}', "$.order.note"),
             ('{"items": [1, %s]}', "$.items[1]")]
    before = _stored_counts()
    wrong = []
    for template, where in table:
        for name, value in HOSTILE.items():
            status, error = post(_fill(template, value).encode())
            if status != 400 or SAYS[name] not in error or where not in error:
                wrong.append((template, name, status, error[:200]))
    for raw in (b'{"a": "\xff"}', b'{"a": 1', b'[1, 2]'):
        status, error = post(raw)
        if status != 400 or "the body" not in error:
            wrong.append((raw, status, error[:200]))
    for query in ("?conversationId=a%00b", "?userId=a%00b", "?userId=" + "u" * 300):
        status, error = post(b"{}", query)
        if status != 400:
            wrong.append((query, status, error[:200]))
    status, error = post(b'{"pad": "' + b"x" * (256 * 1024) + b'"}')
    if status != 413 or "262144" not in error:
        wrong.append(("huge body", status, error[:200]))
    assert wrong == []
    assert _stored_counts() == before


def test_agui_endpoint_refuses_every_hostile_body_with_its_path(transactional_db, fresh_chat_api):
    """POST /agui/<webhook id> reads its body as the Chat API does: the same refusals, before
    any user, conversation or message is made."""
    _, row = make_bot()
    from integrations.chat_api import auth

    key = auth.user_key(row.encryption_key, "fuzzer")
    table = [("%s", "$"), ('{"threadId": %s, "runId": "r"}', "$.threadId"),
             ('{"threadId": "t", "runId": "r", "messages": [{"id": "m", "role": "user", "content": %s}]}',
              "$.messages[0].content"),
             ('{"threadId": "t", "runId": "r", "resume": [{"interruptId": "a:b", "status": "resolved", "payload": %s}]}',
              "$.resume[0].payload"),
             ('{"threadId": "t", "runId": "r", "forwardedProps": {"k": %s}}', "$.forwardedProps.k")]
    before = _stored_counts()
    wrong = []
    for template, where in table:
        for name, value in HOSTILE.items():
            status, _, content = asgi_client.request("POST", f"/agui/{row.webhook_id}",
                                                     body=_fill(template, value).encode(),
                                                     headers={"x-user-key": key, "content-type": "application/json"})
            body = json.loads(content or b"{}")
            message = body.get("message", "")
            if (status, body.get("type")) != (400, "InvalidPayload") or SAYS[name] not in message \
                    or f"at {where}" not in message:
                wrong.append((template, name, status, message[:200]))
    status, _, content = asgi_client.request("POST", f"/agui/{row.webhook_id}",
                                             body=b'{"pad": "' + b"x" * (1024 * 1024 + 1) + b'"}',
                                             headers={"x-user-key": key, "content-type": "application/json"})
    if status != 413:
        wrong.append(("huge body", status, content[:200]))
    assert wrong == []
    assert _stored_counts() == before
