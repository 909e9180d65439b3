"""Messaging channels installed on a bot (Telegram, Slack, the generic webhook...): their
settings with the credentials encrypted, which channel chat is which conversation, the
inbound updates already stored (a redelivery is stored once) and the replies that could not
be delivered.

Conversations, events and messages themselves are the runtime's (`runtime.models`).
"""
import secrets
import uuid

from django.db import models

from flows import encryption


def new_secret_id() -> str:
    return secrets.token_urlsafe(24)


class Channel(encryption.EncryptedSecrets, models.Model):
    """One channel of one kind on a bot. The secret id is the unguessable part of its
    webhook URL (`/integrations/<kind>/<bot>/<secret id>/`); the channel's own signature
    scheme is checked on top of it."""

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="messaging_channels")
    kind = models.CharField(max_length=32)
    secret_id = models.CharField(max_length=64, unique=True, default=new_secret_id, editable=False)
    enabled = models.BooleanField(default=True)
    # The config's fields that are not secret (kinds/*.py say which are).
    settings = models.JSONField(default=dict, blank=True)
    # The secret fields, as one JSON object encrypted with flows.encryption.
    encrypted_secrets = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    encrypted_fields = ("encrypted_secrets",)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "kind"], name="messaging_channel_one_per_kind")]

    def __str__(self):
        return f"{self.kind} of {self.bot_id}"

    def __repr__(self):
        return f"<Channel {self.kind} bot={self.bot_id} enabled={self.enabled} secrets=***>"


class ChannelConversation(models.Model):
    """A chat of the channel (a Telegram chat, a Slack channel or thread, a webhook
    conversation id) and the runtime conversation it is. `delivered_seq` is the last reply
    handed to the channel: the sender goes on from there, in seq order."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="conversations")
    conversation = models.OneToOneField("runtime.Conversation", on_delete=models.CASCADE,
                                        related_name="messaging_link")
    address_key = models.CharField(max_length=255)
    # What the sender needs to answer there ({"chat_id": ...}, {"channel": ..., "thread_ts": ...}).
    address = models.JSONField(default=dict)
    delivered_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "address_key"],
                                               name="messaging_conversation_unique_address")]


class InboundUpdate(models.Model):
    """An update the channel delivered (its own id: Telegram's update_id, Slack's event_id,
    the webhook's id). Channels redeliver what they think was lost; the unique id makes the
    second delivery a no-op.

    The acknowledgement stores the parsed update here and nothing else (`inbound`, with its
    chat's `address_key`); a worker then makes it its conversation's event (inbound.py), sets
    `event` and clears `inbound`. A row whose `inbound` is set is still waiting for that."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="updates")
    update_id = models.CharField(max_length=255)
    address_key = models.CharField(max_length=255, default="")
    inbound = models.JSONField(null=True, blank=True)
    event = models.ForeignKey("runtime.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "update_id"], name="messaging_update_once")]
        # Only the waiting rows, which a worker takes chat by chat in arrival order (and the
        # sweep finds): a few rows, however many updates were ever stored.
        indexes = [models.Index(fields=["channel", "address_key", "id"], condition=models.Q(inbound__isnull=False),
                                name="messaging_update_waiting")]


class DeliveryFailure(models.Model):
    """A reply the channel refused or that could not be sent after every retry."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="failures")
    conversation = models.ForeignKey("runtime.Conversation", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    message = models.ForeignKey("runtime.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["channel", "-created_at"], name="messaging_failure_recent")]

    def __str__(self):
        return f"{self.channel} #{self.message_id}: {self.error[:60]}"


class ChannelMedia(models.Model):
    """A file a user sent on a channel that keeps its media behind the channel's token
    (WhatsApp: a media id), downloaded once (integrations/messaging/media.py) and served at
    an unguessable URL. Kept in the database, as the webchat's uploads are: WhatsApp's media
    are at most FLOWSTUDIO_CHANNEL_MEDIA_MAX_BYTES and this needs no shared file system."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="media")
    message = models.ForeignKey("runtime.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    media_id = models.CharField(max_length=128)
    content_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "media_id"], name="messaging_media_once")]
