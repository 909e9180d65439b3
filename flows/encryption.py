"""The cipher of every secret the studio stores: configuration values, Chat API keys and
webhook secrets, webchat identity secrets (docs/security.md, "Secrets and keys").

Fernet keys come from FLOWSTUDIO_ENCRYPTION_KEYS: the first encrypts, every one decrypts
(MultiFernet), so a rotation is: put a new key first, run `manage.py rotate_secrets`, then
drop the old key. Until issue 14 the key was derived from SECRET_KEY; those derived keys
decrypt too while FLOWSTUDIO_DECRYPT_WITH_SECRET_KEY is on, and encrypt only when no
FLOWSTUDIO_ENCRYPTION_KEYS is set (allowed with DEBUG on or on the embedded default).

A model with encrypted columns lists them in `encrypted_fields`; `rotate_secrets` finds
them there.
"""
from __future__ import annotations

import base64
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@lru_cache(maxsize=16)
def _derived_from_secret_key(secret_key: str) -> Fernet:
    # How values were encrypted before FLOWSTUDIO_ENCRYPTION_KEYS; unchanged so they stay
    # readable. The `info` label kept this key apart from Django's own uses of SECRET_KEY.
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"flowstudio.config-values").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


@lru_cache(maxsize=16)
def _cipher(keys: tuple[str, ...], secret_keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys] + [_derived_from_secret_key(key) for key in secret_keys])


def _secret_keys() -> tuple[str, ...]:
    if settings.FLOWSTUDIO_ENCRYPTION_KEYS and not settings.FLOWSTUDIO_DECRYPT_WITH_SECRET_KEY:
        return ()
    return (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)


def cipher() -> MultiFernet:
    """Encrypts with the first configured key, decrypts with any of them."""
    return _cipher(tuple(settings.FLOWSTUDIO_ENCRYPTION_KEYS), _secret_keys())


def primary() -> Fernet:
    """The key that encrypts: a value it decrypts needs no re-encryption."""
    if settings.FLOWSTUDIO_ENCRYPTION_KEYS:
        return Fernet(settings.FLOWSTUDIO_ENCRYPTION_KEYS[0])
    return _derived_from_secret_key(settings.SECRET_KEY)


def encrypt(clear_text: str) -> str:
    return cipher().encrypt(clear_text.encode()).decode()


def decrypt(token: str) -> str:
    """Raises cryptography.fernet.InvalidToken when no configured key wrote it."""
    return cipher().decrypt(token.encode()).decode()


def encrypted_columns():
    """(model, field name) of every encrypted column, from the models' `encrypted_fields`."""
    from django.apps import apps

    return [(model, name) for model in apps.get_models() for name in getattr(model, "encrypted_fields", ())]


def reencrypt_all() -> list[dict]:
    """Re-encrypt every stored secret that the first key did not write. Idempotent: a second
    run finds everything current. Returns one count per column, and the primary keys of
    rows no configured key can read (left as they are); never a value."""
    from django.db import transaction

    current_key = primary()
    everything = cipher()
    report = []
    for model, name in encrypted_columns():
        counts = {"column": f"{model._meta.label}.{name}", "reencrypted": 0, "current": 0, "empty": 0,
                  "unreadable": []}
        with transaction.atomic():
            rows = list(model._default_manager.select_for_update().exclude(**{name: ""}).values_list("pk", name))
            counts["empty"] = model._default_manager.filter(**{name: ""}).count()
            for pk, token in rows:
                try:
                    current_key.decrypt(token.encode())
                except InvalidToken:
                    pass
                else:
                    counts["current"] += 1
                    continue
                try:
                    fresh = everything.rotate(token.encode()).decode()
                except InvalidToken:
                    counts["unreadable"].append(pk)
                    continue
                # update(), not save(): nothing else about the row changes, not even updated_at.
                model._default_manager.filter(pk=pk).update(**{name: fresh})
                counts["reencrypted"] += 1
        report.append(counts)
    return report


class EncryptedSecrets:
    """For a model whose secrets are one JSON object in an `encrypted_secrets` text column
    (list it in `encrypted_fields`): `row.secrets` reads the object, assigning it encrypts
    it (an empty one stores "")."""

    @property
    def secrets(self) -> dict:
        if not self.encrypted_secrets:
            return {}
        return json.loads(decrypt(self.encrypted_secrets))

    @secrets.setter
    def secrets(self, values: dict) -> None:
        self.encrypted_secrets = encrypt(json.dumps(values)) if values else ""
