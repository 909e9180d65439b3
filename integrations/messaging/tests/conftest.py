import threading
import time

import pytest

from runtime.tests.bots import create_bot
from runtime.tests.receiver import receiver

from .bots import pizza_bot
from .channels import DRIVERS


@pytest.fixture(autouse=True)
def _threads_done_and_pools_closed():
    # Turns and replies without a worker run on threads of this process, and the turns on
    # PostgreSQL through the worker loop's async pool: both must be done and closed before
    # the test's tables are flushed and the test database goes.
    yield
    for thread in threading.enumerate():
        if thread.name.startswith(("messaging-", "telegram-")):
            thread.join(20)
    from integrations.chat_api import workers
    from runtime import pg

    from integrations.chat_api.tests import asgi_client

    from integrations.messaging import inbound

    inbound.forget()  # channels in memory outlive the test's rows
    workers.close_all()  # the request threads the inbound view works on keep their connections
    asgi_client.close_pools()
    pg.close_all()


@pytest.fixture
def local_channels(settings, transactional_db):
    """The channel APIs are local servers (the outbound guard lets 127.0.0.1 through, as a
    deployment's allow-list would), and with no worker the turn and the replies run on
    threads of this process: the embedded default's path."""
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture(params=sorted(DRIVERS))
def channel(request, local_channels, client):
    """(driver, channel API server) for each channel, installed on a published pizza bot."""
    driver = DRIVERS[request.param](client)
    bot = create_bot(pizza_bot())
    with receiver(driver.ok_answer) as api:
        driver.install(bot, api)
        driver.bot = bot
        yield driver, api


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def wait_for_replies(driver, api, count, timeout=15.0):
    wait_for(lambda: len(driver.sends(api)) >= count, timeout, f"{count} replies")
    time.sleep(0.05)  # nothing more should come
    return driver.replies(api)
