"""User keys: an HS256 JWT `{"id": <user id>}` signed with the bot's Chat API encryption
key. `createUser` hands one out; a backend that knows the key signs its own for any user
id (Botpress's "manual" mode) and calls `getOrCreateUser`."""
from __future__ import annotations

import jwt

from .errors import Unauthorized

ALGORITHM = "HS256"


def user_key(encryption_key: str, user_id: str) -> str:
    return jwt.encode({"id": user_id}, encryption_key, algorithm=ALGORITHM)


def user_id_from_key(encryption_key: str, key: str | None) -> str:
    """The user id a key names; Unauthorized when the key is missing, malformed, signed
    with another key or has no string id. The id's format is checked by the caller."""
    if not key:
        raise Unauthorized("the x-user-key header is required")
    try:
        claims = jwt.decode(key, encryption_key, algorithms=[ALGORITHM], options={"require": []})
    except jwt.InvalidTokenError as exc:
        # Our own words: the library's messages name its internals and the header's parts.
        raise Unauthorized(f"invalid x-user-key: {_refusal(exc)}") from None
    user_id = claims.get("id") if isinstance(claims, dict) else None
    if not isinstance(user_id, str):
        raise Unauthorized("invalid x-user-key: its payload has no string 'id'")
    return user_id


def _refusal(exc: jwt.InvalidTokenError) -> str:
    if isinstance(exc, jwt.InvalidSignatureError):
        return "it is not signed with this bot's encryption key"
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "it has expired"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return f"it must be signed with {ALGORITHM}"
    if isinstance(exc, jwt.DecodeError):
        return "it is not a JWT (three base64url parts separated by dots)"
    return "it is not a valid user key"
