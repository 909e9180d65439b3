"""How REST API calls prove who they are: personal access tokens (`studio.people.tokens`)."""
from __future__ import annotations

from rest_framework import authentication, exceptions

from studio.people.tokens import user_for_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """DRF authentication by personal access token. Wrong or revoked tokens are 401.

    Listed first in REST_FRAMEWORK so unauthenticated API calls answer 401 with
    `WWW-Authenticate: Bearer` rather than 403.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'")
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("the token contains invalid characters") from None
        user, token = user_for_token(raw)
        if user is None:
            raise exceptions.AuthenticationFailed("invalid or revoked token")
        return user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
