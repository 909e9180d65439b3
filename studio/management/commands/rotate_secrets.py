"""Re-encrypt every stored secret with the first FLOWSTUDIO_ENCRYPTION_KEYS key.

    manage.py rotate_secrets

A rotation (docs/security.md): put a new key first in FLOWSTUDIO_ENCRYPTION_KEYS, keeping the
old ones after it; restart; run this; then drop the old keys. Safe to run again (it only
re-encrypts what the first key did not write) and while the studio serves. Prints counts
per column, never a value; exits 1 if some value no configured key can read.
"""
from django.core.management.base import BaseCommand, CommandError

from flows import encryption


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first FLOWSTUDIO_ENCRYPTION_KEYS key; prints counts only."

    def handle(self, *args, **options):
        unreadable = []
        totals = {"reencrypted": 0, "current": 0, "empty": 0}
        for counts in encryption.reencrypt_all():
            for key in totals:
                totals[key] += counts[key]
            self.stdout.write(
                f"{counts['column']}: {counts['reencrypted']} re-encrypted, {counts['current']} already current, "
                f"{counts['empty']} empty, {len(counts['unreadable'])} unreadable"
            )
            unreadable += [f"{counts['column']} pk={pk}" for pk in counts["unreadable"]]
        self.stdout.write(f"total: {totals['reencrypted']} re-encrypted, {totals['current']} already current")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} value(s) cannot be decrypted with any configured key, left as they are: "
                + ", ".join(unreadable[:20]) + (" ..." if len(unreadable) > 20 else "")
            )
