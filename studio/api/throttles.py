"""The REST API's request rates (docs/security.md, "Login and sign-up").

DRF's own classes read their rates once, at import; these read FLOWSTUDIO_API_RATE_* on
every request, so a changed setting (or a test's override) takes effect without a restart.
Counts live in the default cache: Redis when REDIS_URL is set, shared by every process.
"""
from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class UserRate(UserRateThrottle):
    def get_rate(self):
        return settings.FLOWSTUDIO_API_RATE_USER


class AnonymousRate(AnonRateThrottle):
    def get_rate(self):
        return settings.FLOWSTUDIO_API_RATE_ANONYMOUS
