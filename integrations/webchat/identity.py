"""Who is talking: the widget's user keys, and identities signed by the host site.

- A **user key** is what the widget stores in the browser to come back as the same user.
  It is the user's id signed with the studio's SECRET_KEY (Django signing), so nothing has
  to be stored to check it and it cannot be forged or moved to another bot.
- A **signed identity** lets a host site that knows its users say "this is customer 42" so
  that the user is recognised in any browser. The site signs with the bot's identity secret
  (Webchat settings), either as a JWT (HS256, claim `sub`, optional `name`, `pictureUrl`,
  `data`, `exp`) or as an HMAC: `userHash = hex(HMAC-SHA256(secret, userId))`, the scheme
  Chatwoot and Intercom use. docs/webchat.md shows both.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import jwt
from django.core import signing

USER_KEY_SALT = "flowstudio.webchat.user-key"
VERIFIED_PREFIX = "verified:"
MAX_USER_ID = 200


class IdentityInvalid(ValueError):
    pass


@dataclass(frozen=True)
class VerifiedIdentity:
    user_id: str
    name: str | None = None
    picture_url: str | None = None
    data: dict = field(default_factory=dict)

    @property
    def external_id(self) -> str:
        # Its own namespace: an anonymous widget user can never be handed a verified id.
        return VERIFIED_PREFIX + self.user_id


def user_key(bot_id, external_id: str) -> str:
    return signing.dumps({"b": str(bot_id), "u": external_id}, salt=USER_KEY_SALT, compress=True)


def external_id_from_key(bot_id, key: str) -> str | None:
    """The user a key names, or None if the key is not one we issued for this bot."""
    if not isinstance(key, str) or not key or len(key) > 1000:
        return None
    try:
        claims = signing.loads(key, salt=USER_KEY_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(claims, dict) or claims.get("b") != str(bot_id) or not isinstance(claims.get("u"), str):
        return None
    return claims["u"]


def verify(secret: str, identity: dict) -> VerifiedIdentity:
    """Check an identity the page passed (`{"token": jwt}` or `{"userId", "userHash"}`)."""
    if not isinstance(identity, dict):
        raise IdentityInvalid("identity must be an object: {token} or {userId, userHash}")
    if not secret:
        raise IdentityInvalid("this bot has no identity secret; generate one in its Webchat settings")
    if identity.get("token") is not None:
        return _from_jwt(secret, identity["token"])
    if identity.get("userId") is not None or identity.get("userHash") is not None:
        return _from_hmac(secret, identity.get("userId"), identity.get("userHash"))
    raise IdentityInvalid("identity needs either token (a JWT) or userId and userHash")


def hmac_for(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def _check_user_id(user_id) -> str:
    if not isinstance(user_id, str) or not user_id.strip():
        raise IdentityInvalid("the signed user id must be a non-empty string")
    if len(user_id) > MAX_USER_ID:
        raise IdentityInvalid(f"the signed user id is longer than {MAX_USER_ID} characters")
    return user_id


def _from_hmac(secret: str, user_id, user_hash) -> VerifiedIdentity:
    user_id = _check_user_id(user_id)
    if not isinstance(user_hash, str) or not hmac.compare_digest(user_hash.lower(), hmac_for(secret, user_id)):
        raise IdentityInvalid("userHash is not the HMAC-SHA256 of userId with this bot's identity secret")
    return VerifiedIdentity(user_id=user_id)


def _from_jwt(secret: str, token) -> VerifiedIdentity:
    if not isinstance(token, str):
        raise IdentityInvalid("identity token must be a string (a JWT)")
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub"]})
    except jwt.ExpiredSignatureError:
        raise IdentityInvalid("identity token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise IdentityInvalid(f"identity token is invalid: {exc}") from None
    data = claims.get("data")
    if data is not None and not isinstance(data, dict):
        raise IdentityInvalid("the token's data claim must be an object")
    name, picture = claims.get("name"), claims.get("pictureUrl")
    return VerifiedIdentity(
        user_id=_check_user_id(claims["sub"]),
        name=name if isinstance(name, str) else None,
        picture_url=picture if isinstance(picture, str) else None,
        data=data or {},
    )
