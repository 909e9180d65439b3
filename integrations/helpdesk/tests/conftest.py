import threading

import pytest


@pytest.fixture(autouse=True)
def _threads_done_and_pools_closed():
    # Without a worker, forwarding, hand backs, turns and channel replies run on threads of
    # this process (the turns through the worker loop's async pool): all done and closed
    # before the test's tables are flushed.
    yield
    for thread in threading.enumerate():
        if thread.name.startswith(("helpdesk-", "messaging-")):
            thread.join(20)
    from integrations.chat_api import workers
    from integrations.chat_api.tests import asgi_client
    from runtime import pg

    workers.close_all()
    asgi_client.close_pools()
    pg.close_all()
