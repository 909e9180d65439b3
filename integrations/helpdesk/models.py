"""An external help desk that takes a bot's handoffs instead of the studio's Inbox
(docs/handoff.md, "An external desk: Chatwoot"): its settings with the access token and the
webhook secret encrypted, which desk conversation each handed-off conversation is, and the
desk's webhooks already applied (a redelivery is applied once).

Conversations and messages themselves are the runtime's (`runtime.models`).
"""
import secrets

from django.db import models

from flows import encryption


def new_secret_id() -> str:
    return secrets.token_urlsafe(24)


class Desk(encryption.EncryptedSecrets, models.Model):
    """The help desk of one bot (Chatwoot today: `kind`). The secret id is the unguessable
    part of its webhook URL (`/helpdesk/<kind>/<bot>/<secret id>/`); the desk's signature is
    checked on top of it."""

    bot = models.OneToOneField("flows.Bot", on_delete=models.CASCADE, related_name="helpdesk")
    kind = models.CharField(max_length=32, default="chatwoot")
    secret_id = models.CharField(max_length=64, unique=True, default=new_secret_id, editable=False)
    enabled = models.BooleanField(default=True)
    base_url = models.URLField(max_length=500)
    account_id = models.PositiveIntegerField()
    inbox_id = models.PositiveIntegerField()
    # {"api_access_token": ..., "webhook_secret": ...} as one JSON object, encrypted.
    encrypted_secrets = models.TextField(blank=True, default="", editable=False)
    # The last call the desk refused (shown on the dashboard), cleared by the next success.
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    encrypted_fields = ("encrypted_secrets",)

    def __str__(self):
        return f"{self.kind} desk of {self.bot_id}"

    def __repr__(self):
        return f"<Desk {self.kind} bot={self.bot_id} enabled={self.enabled} secrets=***>"


class DeskConversation(models.Model):
    """A handed-off conversation and its conversation in the desk. `escalated_at` is the
    handoff it was opened for (a later handoff of the same conversation opens a new one);
    `forwarded_seq` the last transcript row copied to it, so a retry copies nothing twice."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="conversations")
    conversation = models.OneToOneField("runtime.Conversation", on_delete=models.CASCADE,
                                        related_name="helpdesk_link")
    contact_id = models.PositiveBigIntegerField()
    source_id = models.CharField(max_length=255, blank=True, default="")
    remote_id = models.PositiveBigIntegerField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    opened = models.BooleanField(default=False)
    # When the desk's conversation of this handoff was resolved (there, or by us after a hand
    # back in the studio): it is not resolved twice.
    closed_at = models.DateTimeField(null=True, blank=True)
    forwarded_seq = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["desk", "remote_id"], name="helpdesk_conversation_remote")]


class DeskWebhook(models.Model):
    """A webhook of the desk already applied, by a key made of what it is about (message id,
    resolved conversation): the desk redelivers what it thinks was lost, and may send one
    event to two webhooks (an agent bot's and the account's); the unique key applies it once."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="webhooks")
    key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["desk", "key"], name="helpdesk_webhook_once")]
