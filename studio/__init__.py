# Loading Celery with Django makes @shared_task bind to our app in every process.
from .celery import app as celery_app

__all__ = ("celery_app",)
