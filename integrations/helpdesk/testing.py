"""A local server that speaks the part of Chatwoot's Application API the handoff uses
(chatwoot.py lists it), for tests and for trying the connector without a Chatwoot: it keeps
contacts, conversations and messages in memory, checks the `api_access_token` header, and
makes Chatwoot's webhooks (signed as Chatwoot signs them) for what its agents do.

    with fake_chatwoot(token="tok-1234") as desk:
        ...  # desk.url, desk.conversations[display_id]["messages"], desk.agent_reply(...)

The request and answer shapes follow Chatwoot's API reference (developers.chatwoot.com) and its
jbuilder views: a contact is answered as `{"payload": {"contact": {...}, "contact_inbox":
{"source_id": ...}}}`, a conversation as its object with `id` = the display id, a message
with `message_type` as a name.
"""
from __future__ import annotations

import json
import re
import threading
import time
import uuid
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from runtime.tests.receiver import http_server

from . import chatwoot

_ROUTES = [
    ("GET", re.compile(r"^/api/v1/accounts/(?P<account>\d+)/inboxes/(?P<inbox>\d+)$"), "inbox"),
    ("POST", re.compile(r"^/api/v1/accounts/(?P<account>\d+)/contacts$"), "create_contact"),
    ("GET", re.compile(r"^/api/v1/accounts/(?P<account>\d+)/contacts/search$"), "search_contacts"),
    ("POST", re.compile(r"^/api/v1/accounts/(?P<account>\d+)/contacts/(?P<contact>\d+)/contact_inboxes$"),
     "contact_inbox"),
    ("POST", re.compile(r"^/api/v1/accounts/(?P<account>\d+)/conversations$"), "create_conversation"),
    ("POST", re.compile(r"^/api/v1/accounts/(?P<account>\d+)/conversations/(?P<conversation>\d+)/messages$"),
     "create_message"),
    ("POST", re.compile(r"^/api/v1/accounts/(?P<account>\d+)/conversations/(?P<conversation>\d+)/toggle_status$"),
     "toggle_status"),
]


class FakeChatwoot:
    def __init__(self, *, token: str, account_id: int, inbox_id: int, webhook_secret: str):
        self.token, self.account_id, self.inbox_id = token, account_id, inbox_id
        self.webhook_secret = webhook_secret
        self.port = 0
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, dict]] = []  # method, path, JSON body
        self.contacts: dict[int, dict] = {}
        self.conversations: dict[int, dict] = {}
        self.statuses: list[tuple[int, str]] = []  # (display id, status) in the order set
        self._failures: list[tuple[int, dict]] = []
        self._next_id = 100

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, status: int, *, times: int = 1, headers: dict | None = None) -> None:
        """The next `times` API calls answer `status` (a 503, a 429 with Retry-After...)."""
        self._failures += [(status, headers or {})] * times

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- the API -------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict, dict]:
        parts = urlsplit(path)
        data = json.loads(body) if body else {}
        with self.lock:
            self.requests.append((method, parts.path, data))
            if self._failures:
                status, extra = self._failures.pop(0)
                return status, extra, {"error": "try again later"}
            if headers.get("api_access_token") != self.token:
                return 401, {}, {"error": "You need to sign in or sign up before continuing."}
            for route_method, pattern, name in _ROUTES:
                found = pattern.match(parts.path)
                if found and route_method == method:
                    if int(found["account"]) != self.account_id:
                        return 404, {}, {"error": "Resource could not be found"}
                    params = {k: v for k, v in found.groupdict().items() if k != "account"}
                    return getattr(self, name)(data, parse_qs(parts.query), **params)
            return 404, {}, {"error": "Resource could not be found"}

    def inbox(self, data, query, inbox):
        if int(inbox) != self.inbox_id:
            return 404, {}, {"error": "Resource could not be found"}
        return 200, {}, {"id": self.inbox_id, "name": "Flowstudio handoff", "channel_type": "Channel::Api"}

    def create_contact(self, data, query):
        if int(data.get("inbox_id") or 0) != self.inbox_id:
            return 422, {}, {"message": "Inbox not found"}
        if any(c["identifier"] == data.get("identifier") for c in self.contacts.values()):
            return 422, {}, {"message": "Identifier has already been taken"}
        contact = {"id": self._id(), "name": data.get("name"), "identifier": data.get("identifier"),
                   "source_id": uuid.uuid4().hex}
        self.contacts[contact["id"]] = contact
        return 200, {}, {"payload": {"contact": {"id": contact["id"], "name": contact["name"],
                                                 "identifier": contact["identifier"]},
                                     "contact_inbox": {"inbox": {"id": self.inbox_id},
                                                       "source_id": contact["source_id"]}}}

    def search_contacts(self, data, query):
        q = (query.get("q") or [""])[0]
        found = [{"id": c["id"], "name": c["name"], "identifier": c["identifier"]} for c in self.contacts.values()
                 if q and q in (c["identifier"] or "")]
        return 200, {}, {"meta": {"count": len(found)}, "payload": found}

    def contact_inbox(self, data, query, contact):
        if int(contact) not in self.contacts:
            return 404, {}, {"error": "Resource could not be found"}
        return 200, {}, {"source_id": self.contacts[int(contact)]["source_id"], "inbox": {"id": self.inbox_id}}

    def create_conversation(self, data, query):
        contact = self.contacts.get(int(data.get("contact_id") or 0))
        if contact is None or data.get("source_id") != contact["source_id"]:
            return 422, {}, {"message": "Source can't be blank"}
        display_id = len(self.conversations) + 1
        self.conversations[display_id] = {
            "id": display_id, "status": data.get("status") or "open", "contact_id": contact["id"],
            "inbox_id": self.inbox_id, "additional_attributes": data.get("additional_attributes") or {},
            "messages": []}
        self.statuses.append((display_id, self.conversations[display_id]["status"]))
        answer = {k: v for k, v in self.conversations[display_id].items() if k != "messages"}
        return 200, {}, {**answer, "account_id": self.account_id}

    def create_message(self, data, query, conversation):
        found = self.conversations.get(int(conversation))
        if found is None:
            return 404, {}, {"error": "Resource could not be found"}
        if not data.get("content"):
            return 422, {}, {"message": "Content can't be blank"}
        message = {"id": self._id(), "content": data["content"], "message_type": data.get("message_type", "outgoing"),
                   "private": bool(data.get("private")), "conversation_id": int(conversation)}
        found["messages"].append(message)
        return 200, {}, message

    def toggle_status(self, data, query, conversation):
        found = self.conversations.get(int(conversation))
        if found is None:
            return 404, {}, {"error": "Resource could not be found"}
        found["status"] = data.get("status") or ("resolved" if found["status"] == "open" else "open")
        self.statuses.append((int(conversation), found["status"]))
        return 200, {}, {"meta": {}, "payload": {"success": True, "current_status": found["status"],
                                                 "conversation_id": int(conversation)}}

    # --- what its agents do, as Chatwoot's webhooks ----------------------------------------

    def signed(self, payload: dict, *, secret: str | None = None, timestamp: int | None = None) -> tuple[bytes, dict]:
        """(body, headers) of a webhook as Chatwoot sends it."""
        body = json.dumps(payload).encode()
        stamp = str(int(timestamp if timestamp is not None else time.time()))
        return body, {"X-Chatwoot-Timestamp": stamp,
                      "X-Chatwoot-Signature": chatwoot.signature(secret or self.webhook_secret, stamp, body)}

    def agent_reply(self, conversation: int, text: str, *, agent=(7, "Ann Agent")) -> dict:
        """An agent answers in the conversation: the message, and its `message_created`."""
        with self.lock:
            message = {"id": self._id(), "content": text, "message_type": "outgoing", "private": False,
                       "conversation_id": conversation}
            self.conversations[conversation]["messages"].append(message)
        return {"event": "message_created", "id": message["id"], "content": text, "message_type": "outgoing",
                "content_type": "text", "private": False, "created_at": "2026-12-04T12:00:00.000Z",
                "sender": {"id": agent[0], "name": agent[1], "type": "user", "email": "ann@desk.example"},
                "conversation": self._conversation_data(conversation),
                "inbox": {"id": self.inbox_id, "name": "Flowstudio handoff"},
                "account": {"id": self.account_id, "name": "Support"}}

    def resolve(self, conversation: int) -> dict:
        """An agent resolves the conversation: its `conversation_status_changed`."""
        with self.lock:
            self.conversations[conversation]["status"] = "resolved"
            self.statuses.append((conversation, "resolved"))
        return {"event": "conversation_status_changed", **self._conversation_data(conversation),
                "changed_attributes": [{"status": {"previous_value": "open", "current_value": "resolved"}}]}

    def _conversation_data(self, conversation: int) -> dict:
        found = self.conversations[conversation]
        return {"id": conversation, "display_id": conversation, "status": found["status"],
                "inbox_id": self.inbox_id, "additional_attributes": found["additional_attributes"],
                "meta": {"sender": {"id": found["contact_id"], "type": "contact"}}}


@contextmanager
def fake_chatwoot(*, token: str = "cw-token-1234", account_id: int = 3, inbox_id: int = 9,
                  webhook_secret: str = "cw-webhook-secret-1"):
    state = FakeChatwoot(token=token, account_id=account_id, inbox_id=inbox_id, webhook_secret=webhook_secret)

    def handle(method, path, headers, body):
        status, extra, answer = state.handle(method, path, headers, body)
        return status, {**extra, "Content-Type": "application/json; charset=utf-8"}, json.dumps(answer).encode()

    with http_server(handle, name="fake-chatwoot") as port:
        state.port = port
        yield state
