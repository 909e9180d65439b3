"""Calls the project's ASGI application in this process, on an event loop of its own in a
daemon thread, the way a server would: the Chat API front and its loop-side database pool
run exactly as under uvicorn, on the test database (transactional tests only, since the
pool's connections are not the test's)."""
from __future__ import annotations

import asyncio

from runtime.tests.server_loop import close_pools, run  # noqa: F401 (close_pools: for conftest)


def request(method: str, path: str, *, body: bytes = b"", query: str = "", headers: dict | None = None,
            timeout: float = 30) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one request."""
    return run(_request(method, path, body, query, headers or {}), timeout)


async def _request(method, path, body, query, headers):
    from studio.asgi import application

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(name.lower().encode("latin-1"), str(value).encode("latin-1")) for name, value in
                    {"host": "testserver", "content-length": str(len(body)), **headers}.items()],
        "client": ("127.0.0.1", 40000), "server": ("testserver", 80),
    }
    delivered = False
    never = asyncio.Event()

    async def receive():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never.wait()

    answer = {"status": None, "headers": {}, "body": []}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode("latin-1"): v.decode("latin-1") for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            answer["body"].append(message.get("body", b""))

    await application(scope, receive, send)
    return answer["status"], answer["headers"], b"".join(answer["body"])
