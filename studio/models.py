# Django loads an app's models from `<app>.models`; the studio app's models are the ownership
# core's (`studio.people.models`), which every room below the studio imports directly.
from studio.people.models import *  # noqa: F401,F403
