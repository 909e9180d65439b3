"""The Chat API's own rows: per-bot settings (the secrets encrypted), the Chat API profile of
an end user, and who takes part in which conversation.

End users, conversations, messages and events are the runtime's (`runtime.models`); the
Chat API only adds what Botpress's Chat API has and Flowstudio's runtime does not.
"""
import secrets
import uuid

from django.db import models

from flows import encryption


def _new_webhook_id() -> str:
    return str(uuid.uuid4())


class ChatApiSettings(models.Model):
    """One per bot. The webhook id is the public part of the base URL
    (`/chat/<webhook id>`); the encryption key signs user keys (HS256 JWTs)."""

    bot = models.OneToOneField("flows.Bot", on_delete=models.CASCADE, related_name="chat_api")
    # Off until someone turns it on: a Chat API lets anyone who knows the URL create users.
    enabled = models.BooleanField(default=False)
    webhook_id = models.CharField(max_length=64, unique=True, default=_new_webhook_id, editable=False)
    encrypted_key = models.TextField(editable=False)
    # Optional outgoing webhook: the same signals as the listen stream, POSTed and signed.
    webhook_url = models.URLField(max_length=2000, blank=True, default="")
    encrypted_webhook_secret = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    encrypted_fields = ("encrypted_key", "encrypted_webhook_secret")

    class Meta:
        verbose_name = "Chat API settings"
        verbose_name_plural = "Chat API settings"

    @property
    def encryption_key(self) -> str:
        return encryption.decrypt(self.encrypted_key)

    @encryption_key.setter
    def encryption_key(self, clear_text: str) -> None:
        self.encrypted_key = encryption.encrypt(clear_text)

    @property
    def webhook_secret(self) -> str:
        if not self.encrypted_webhook_secret:
            return ""
        return encryption.decrypt(self.encrypted_webhook_secret)

    @webhook_secret.setter
    def webhook_secret(self, clear_text: str) -> None:
        self.encrypted_webhook_secret = encryption.encrypt(clear_text) if clear_text else ""

    @staticmethod
    def generate_secret() -> str:
        return secrets.token_urlsafe(32)

    def __str__(self):
        return f"Chat API of {self.bot_id}"

    def __repr__(self):
        return f"<ChatApiSettings bot={self.bot_id} webhook_id={self.webhook_id} key=***>"


class ChatUser(models.Model):
    """What the Chat API knows of an end user beyond the runtime's row."""

    end_user = models.OneToOneField("runtime.EndUser", on_delete=models.CASCADE, related_name="chat_profile")
    picture_url = models.CharField(max_length=2000, blank=True, default="")
    profile = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return str(self.end_user)


class Participant(models.Model):
    """A user who may read and write a Chat API conversation. The creator is one too (and
    cannot be removed), so "is a participant" is one lookup."""

    conversation = models.ForeignKey("runtime.Conversation", on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey("runtime.EndUser", on_delete=models.CASCADE, related_name="participations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="participant_unique_user"),
        ]
        indexes = [models.Index(fields=["user", "conversation"], name="participant_by_user")]

    def __str__(self):
        return f"{self.user_id} in {self.conversation_id}"
