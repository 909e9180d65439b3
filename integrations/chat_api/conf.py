"""The Chat API's own settings: a Django setting of the same name wins, else the
environment variable, else the default (see docs/chat-api.md, "Settings")."""
import os

from django.conf import settings

DEFAULTS = {
    # Where turns caused by Chat API requests run: "web" (a thread of the web process) or "celery".
    "CHAT_API_TURNS": "web",
    # "off": send messages and events through the thread pools even on PostgreSQL, instead of
    # the loop's path (async_messages.py); other databases always use the threads.
    "CHAT_API_ASYNC": "on",
    # How long a request waits for the turn it caused before answering anyway.
    "CHAT_API_TURN_WAIT_SECONDS": "2",
    # Worker threads per web process for requests and for turns.
    "CHAT_API_REQUEST_THREADS": "8",
    "CHAT_API_TURN_THREADS": "8",
    # The Celery queue of the Chat API's tasks: webhook deliveries and, with CHAT_API_TURNS
    # "celery", turns (None: Celery's default queue).
    "CHAT_API_CELERY_QUEUE": None,
    # Seconds between heartbeat comments on an idle listen stream.
    "CHAT_API_HEARTBEAT_SECONDS": "15",
    # Signals a listen stream may have waiting for a client that does not read; past that
    # the stream closes (the client reconnects with Last-Event-ID).
    "CHAT_API_STREAM_BUFFER": "1000",
    # Requests per second per user key (bursts of twice that), across processes on Redis; 0 = off.
    "CHAT_API_RATE_LIMIT": "50",
}


def get(name: str):
    if hasattr(settings, name):
        return getattr(settings, name)
    return os.environ.get(name, DEFAULTS[name])
