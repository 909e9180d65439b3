import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _heartbeat(sender=None, **kwargs):
    # /readyz asks whether a worker was seen recently (runtime/health.py).
    from django.conf import settings

    from runtime import health

    if settings.REDIS_URL:
        health.start_worker_heartbeat(getattr(sender, "hostname", None))
