import threading

import pytest


@pytest.fixture(autouse=True)
def _no_worker_turns_on_threads(settings):
    """No Celery worker: the turn after a stored trigger event runs on a thread of this
    process (the embedded default's path), which must be done before the tables are flushed."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("trigger-"):
            thread.join(20)
    from runtime import pg

    pg.close_all()
