"""Browser tests of the webchat (this folder): the production server (scripts/serve.sh web)
on a free port against the test database and the loopback Redis, a second origin serving
plain host pages, and Debian's Chromium driven by Playwright."""
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runtime.tests.live_server import serve

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test body
# are still plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

WORKERS = 2
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def studio_server(django_db_setup, tmp_path_factory):
    """The studio as production serves it: `scripts/serve.sh web` (uvicorn workers with
    uvloop, httptools and websockets; runtime/tests/live_server.py). Two workers, so a
    widget's socket and the request or turn that answers it may be in different processes."""
    with serve(tmp_path_factory.mktemp("serve"), workers=WORKERS, probe_path="/webchat/inject.js",
               env={"ALLOWED_HOSTS": "127.0.0.1,localhost", "WHITENOISE_USE_FINDERS": "true",
                    # The scripted LLM server of the streaming tests listens on the loopback.
                    "FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}) as url:
        yield url


class HostPages:
    """A second origin (http://localhost:<port>, not the studio's 127.0.0.1) serving plain
    HTML pages that embed the widget, the way a customer's site does."""

    def __init__(self):
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, html: str) -> str:
        path = f"/{uuid.uuid4().hex}.html"
        self.pages[path] = html
        return self.origin + path

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def host_pages():
    pages = HostPages()
    yield pages
    pages.close()


# `browser` comes from tests/browser/conftest.py: one Playwright per test session, since a
# second sync_playwright() in the same thread refuses to start inside the first one's loop.


@pytest.fixture
def context(browser):
    context = browser.new_context()
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
