"""A real local HTTP server for outbound tests: answers from a script, records each request."""
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
def receiver(*answers):
    state = Receiver(answers or [(200, {}, b"ok")])

    class Handler(http.server.BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append((self.command, self.path, dict(self.headers), body))
            status, headers, content = state._answer()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value.format(port=state.port) if isinstance(value, str) else value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _serve

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
