"""Personal access tokens for `Authorization: Bearer <token>` on the REST API.

A token is `fs_pat_` followed by 43 random URL-safe characters (256 bits). It is shown once
when created; the database keeps only its SHA-256 hash (a plain fast hash is enough for a
random secret of this length, and lets a request find its token by an indexed lookup) and a
short prefix so users can tell their tokens apart.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from studio.people import audit
from studio.people.models import PersonalAccessToken
from studio.people.workspaces import workspaces_for

TOKEN_PREFIX = "fs_pat_"
# How stale last_used_at may get before a request writes it again (saves a write per call).
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenNoteInvalid(ValueError):
    pass


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _record_everywhere(user, action: str, token: PersonalAccessToken, *, actor):
    # A token acts in every workspace of its user, so each of them sees it come and go.
    details = {"note": token.note, "prefix": token.prefix, "owner": user.email or user.get_username()}
    workspaces = list(workspaces_for(user))
    for workspace in workspaces or [None]:
        audit.record(actor=actor, workspace=workspace, action=action, target=token, details=details)


def create_token(user, note: str) -> tuple[PersonalAccessToken, str]:
    """Make a token for the user. Returns the row and the raw token, which is never stored."""
    note = (note or "").strip()
    if not note:
        raise TokenNoteInvalid("note: give the token a note, e.g. what it is for")
    if len(note) > 100:
        raise TokenNoteInvalid("note: at most 100 characters")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = PersonalAccessToken.objects.create(
            user=user, note=note, token_hash=hash_token(raw), prefix=raw[: len(TOKEN_PREFIX) + 4]
        )
        _record_everywhere(user, "token.create", token, actor=user)
    return token, raw


def revoke(token: PersonalAccessToken, *, actor=None) -> PersonalAccessToken:
    """Revoke a token; it stops working at once. Revoking twice is a no-op."""
    with transaction.atomic():
        updated = PersonalAccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db()
        if updated:
            _record_everywhere(token.user, "token.revoke", token, actor=actor or token.user)
    return token


def user_for_token(raw: str) -> tuple:
    """(user, token) for a working raw token; (None, None) if it is unknown, revoked or its
    user is inactive."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None, None
    token = (
        PersonalAccessToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None, None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token
