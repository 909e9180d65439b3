"""A real local HTTP server for outbound tests: answers from a script, records each request.

`http_server(handle)` is the server itself, for tests whose answers depend on the request
(a fake Chatwoot, a Graph API answering by path): `handle(method, path, headers, body)`
returns (status, headers, body); a header `X-Stream` leaves Content-Length out, so the body
ends with the connection (a streamed download)."""
from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager


class Receiver:
    def __init__(self, answers):
        # Each answer: (status, headers dict, body bytes); the last one repeats.
        self.answers = list(answers)
        self.requests: list[tuple[str, str, dict, bytes]] = []  # method, path, headers, body
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answer(self):
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@contextmanager
def http_server(handle, *, name: str = "test-http-server"):
    """Yields the server's port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, content = handle(self.command, self.path, self.headers, body)
            self.send_response(status)
            for header, value in headers.items():
                self.send_header(header, value)
            if "X-Stream" not in headers:
                self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _serve

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name=name).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def receiver(*answers):
    state = Receiver(answers or [(200, {}, b"ok")])

    def handle(method, path, headers, body):
        state.requests.append((method, path, dict(headers), body))
        status, answer_headers, content = state._answer()
        return status, {name: value.format(port=state.port) if isinstance(value, str) else value
                        for name, value in answer_headers.items()}, content

    with http_server(handle) as port:
        state.port = port
        yield state
