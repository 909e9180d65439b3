"""Browser-test setup: a Daphne live server on the test database, Debian's Chromium through
Playwright, and helpers to make users in workspaces and log them in.

The server is a Daphne subprocess (the real ASGI app: HTTP and websockets) started once per
session against the pytest test database; tests use `transactional_db` (pulled in by the
`studio_url` fixture) so what a test writes is committed and visible to the server, and the
tables are flushed after each test.

    def test_something(page, studio_url, make_user, login):
        ann = make_user(role=Role.OWNER)              # a new workspace, ann owns it
        login(page, ann)
        page.goto(studio_url + f"/w/{ann.workspace.slug}/")
"""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from runtime.tests.live_server import database_url, free_port

# Playwright's sync API keeps an asyncio loop in this thread; the ORM calls the tests make
# between page actions are still plain synchronous calls (stack-research section 3, item 5).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-horse-battery-9"


@pytest.fixture(scope="session")
def mail_dir(tmp_path_factory):
    """Where the live server writes the mail it sends (Django's file-based mail backend)."""
    return tmp_path_factory.mktemp("mail")


@pytest.fixture
def sent_mail(mail_dir):
    """sent_mail() -> the mails the live server sent during this test, oldest first, as
    email.message.Message objects."""
    import email

    for old in mail_dir.iterdir():
        old.unlink()

    def read():
        found = []
        for path in sorted(mail_dir.iterdir(), key=lambda p: p.stat().st_mtime):
            for chunk in path.read_text().split("-" * 79):
                if chunk.strip():
                    found.append(email.message_from_string(chunk.strip()))
        return found

    return read


@pytest.fixture(scope="session")
def telegram_api():
    """A local server answering like Telegram's Bot API for the whole session; the live
    server's FLOWSTUDIO_TELEGRAM_API_URL points at it, so a Telegram channel installed from
    the dashboard registers its webhook there (tests/browser/test_channels.py)."""
    from runtime.tests.receiver import receiver

    with receiver((200, {"Content-Type": "application/json"}, b'{"ok":true,"result":true}')) as api:
        yield api


@pytest.fixture(scope="session")
def meta_api():
    """A local server answering like Meta's Graph API (WhatsApp's phone number) for the whole
    session; the live server's FLOWSTUDIO_META_GRAPH_API_URL points at it. A test may swap
    its `answers` (the server runs in this process)."""
    from runtime.tests.receiver import receiver

    with receiver((200, {"Content-Type": "application/json"},
                   b'{"display_phone_number":"+1 555-078-3881","verified_name":"Pizza Place",'
                   b'"id":"106540352242922"}')) as api:
        yield api


@pytest.fixture(scope="session")
def live_server_process(django_db_setup, django_db_blocker, tmp_path_factory, mail_dir, telegram_api, meta_api):
    """A Daphne process serving studio.asgi on the test database; yields its base URL."""
    from django.db import connection

    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(connection.settings_dict),
        STUDIO_LIVE_TEST_DB=connection.settings_dict["NAME"],
        WHITENOISE_USE_FINDERS="true",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        # A live server must not run Celery tasks inline in a request unless told to.
        CELERY_TASK_ALWAYS_EAGER=env.get("CELERY_TASK_ALWAYS_EAGER", "true"),
        # The scripted LLM and MCP test servers listen on 127.0.0.1, which the outbound
        # guard refuses unless listed; the test bots' providers point there.
        FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS=env.get("FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS", "127.0.0.1"),
        FLOWSTUDIO_TELEGRAM_API_URL=telegram_api.url,
        FLOWSTUDIO_META_GRAPH_API_URL=meta_api.url,
    )
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "studio.asgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/accounts/login/", timeout=2)
            break
        except urllib.error.HTTPError:
            break  # it answers; a status is fine
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the live server did not start; its log:\n{log.read_text()}")
            time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def studio_url(live_server_process, transactional_db):
    """The live server's base URL, e.g. http://127.0.0.1:41234 (no trailing slash)."""
    return live_server_process


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser, studio_url):
    """Make extra, isolated browser contexts (a second person at another computer)."""
    contexts = []

    def make(**kwargs):
        kwargs.setdefault("base_url", studio_url)
        context = browser.new_context(**kwargs)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context):
    return context.new_page()


_counter = itertools.count(1)


@pytest.fixture
def make_user(transactional_db):
    """make_user(role=Role.OWNER, workspace=None, email=None, password=PASSWORD, name="") -> User

    Without a workspace, a new one is created and the user becomes its owner (then `role`
    must be OWNER, the default); with one, the user joins it in `role`. The user gets
    `.workspace`, `.role` and `.password_plain` attributes for convenience.
    """
    from django.contrib.auth import get_user_model

    from studio.people.models import Membership, Role
    from studio.people.workspaces import create_workspace

    def make(role=None, workspace=None, email=None, password=PASSWORD, name=""):
        n = next(_counter)
        email = email or f"user{n}@example.com"
        user = get_user_model().objects.create_user(username=email, email=email, password=password, first_name=name)
        role = Role(role or Role.OWNER)
        if workspace is None:
            if role != Role.OWNER:
                raise ValueError("a user made without a workspace owns a new one; pass workspace= for other roles")
            workspace = create_workspace(user, f"Workspace {n}")
        else:
            Membership.objects.create(workspace=workspace, user=user, role=role)
        user.workspace, user.role, user.password_plain = workspace, role, password
        return user

    return make


@pytest.fixture
def login(studio_url):
    """login(page_or_context, user): sign the user in by a session cookie (fast, no form)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    def do(page_or_context, user):
        context = getattr(page_or_context, "context", page_or_context)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": studio_url}])
        return page_or_context

    return do


@pytest.fixture
def logged_in_page(page, make_user, login):
    """A page signed in as a new owner of a new workspace; the user is `logged_in_page.user`."""
    user = make_user()
    login(page, user)
    page.user = user
    return page
