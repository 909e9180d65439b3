"""What the webchat keeps beside the runtime's conversations: each bot's widget settings,
which conversations the widget has opened, the page's data about its users, and uploaded
files. Business rules live in `integrations.webchat.services`."""
import uuid

from cryptography.fernet import InvalidToken
from django.db import models

from flows import encryption


class WebchatSettings(models.Model):
    """A bot's Webchat tab: how the widget looks and who may embed it."""

    class Theme(models.TextChoices):
        LIGHT = "light"
        DARK = "dark"

    class Storage(models.TextChoices):
        LOCAL = "localStorage"
        SESSION = "sessionStorage"

    class Font(models.TextChoices):
        SYSTEM = "system"
        INTER = "inter"
        RUBIK = "rubik"
        IBM_PLEX_SANS = "ibm plex sans"
        FIRA_CODE = "fira code"
        SERIF = "serif"

    bot = models.OneToOneField("flows.Bot", on_delete=models.CASCADE, primary_key=True,
                               related_name="webchat_settings")
    bot_name = models.CharField(max_length=100, blank=True, default="")
    avatar_url = models.CharField(max_length=1000, blank=True, default="")
    description = models.CharField(max_length=300, blank=True, default="")
    composer_placeholder = models.CharField(max_length=200, blank=True, default="")
    primary_color = models.CharField(max_length=7, default="#3276EA")
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.LIGHT)
    font_family = models.CharField(max_length=20, choices=Font.choices, default=Font.SYSTEM)
    website = models.CharField(max_length=1000, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    terms_url = models.CharField(max_length=1000, blank=True, default="")
    privacy_url = models.CharField(max_length=1000, blank=True, default="")
    show_button = models.BooleanField(default=True)
    show_timestamps = models.BooleanField(default=False)
    storage = models.CharField(max_length=16, choices=Storage.choices, default=Storage.LOCAL)
    custom_css = models.TextField(blank=True, default="")
    # Origins ("https://shop.example.com", "https://*.example.com") allowed to embed the
    # widget; empty means every origin.
    allowed_origins = models.JSONField(default=list, blank=True)
    file_upload_enabled = models.BooleanField(default=False)
    max_upload_mb = models.PositiveSmallIntegerField(default=5)
    upload_types = models.JSONField(default=list, blank=True)
    # The secret host sites sign user identities with (HMAC or JWT); Fernet-encrypted.
    encrypted_identity_secret = models.TextField(blank=True, default="", editable=False)
    identity_required = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    encrypted_fields = ("encrypted_identity_secret",)

    class Meta:
        verbose_name_plural = "webchat settings"

    def __str__(self):
        return f"webchat of {self.bot_id}"

    def __repr__(self):
        return f"<WebchatSettings bot={self.bot_id} identity_secret=***>"

    @property
    def identity_secret(self) -> str:
        if not self.encrypted_identity_secret:
            return ""
        try:
            return encryption.decrypt(self.encrypted_identity_secret)
        except InvalidToken:
            # Encrypted under a key that is gone: treat as unset so the owner generates a new one.
            return ""

    @identity_secret.setter
    def identity_secret(self, clear_text: str):
        self.encrypted_identity_secret = (
            encryption.encrypt(clear_text) if clear_text else ""
        )


class WebchatConversation(models.Model):
    """A runtime conversation opened through the widget."""

    conversation = models.OneToOneField("runtime.Conversation", on_delete=models.CASCADE, primary_key=True,
                                        related_name="webchat")
    origin = models.CharField(max_length=300, blank=True, default="")
    # Set when the "conversation started" event was sent (the widget was first opened);
    # it is sent once per conversation.
    started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class WebchatUser(models.Model):
    """What the host page told us about a user (`updateUser`, `init({user})`)."""

    end_user = models.OneToOneField("runtime.EndUser", on_delete=models.CASCADE, primary_key=True,
                                    related_name="webchat")
    name = models.CharField(max_length=255, blank=True, default="")
    picture_url = models.CharField(max_length=1000, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    # True when the host site signed the identity with the bot's secret.
    verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class WebchatUpload(models.Model):
    """A file a user sent through the widget. Kept in the database: uploads are small
    (the per-bot limit is at most 25 MB) and this needs no shared file system."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey("runtime.Conversation", on_delete=models.CASCADE,
                                     related_name="webchat_uploads")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name
