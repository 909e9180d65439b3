"""Read-mostly admin views for support: look at what happened in a conversation. Changes go
through the turn service, so state and transcript stay read-only here."""
from django.contrib import admin

from runtime.models import BotVariable, Conversation, EndUser, Event, Message


@admin.register(EndUser)
class EndUserAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "bot", "created_at")
    list_filter = ("bot",)
    search_fields = ("external_id", "name")


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("seq", "direction", "type", "payload", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("seq",)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("external_id", "bot", "user", "channel", "is_draft", "version", "timeout_at", "updated_at")
    list_filter = ("bot", "is_draft", "channel")
    search_fields = ("external_id", "user__external_id")
    readonly_fields = ("state", "next_seq", "version", "last_user_event_at", "created_at", "updated_at")
    raw_id_fields = ("user",)
    inlines = [MessageInline]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("conversation", "seq", "type", "status", "created_at", "processed_at")
    list_filter = ("status", "type")
    readonly_fields = ("conversation", "seq", "type", "payload", "created_at", "processed_at")
    raw_id_fields = ("conversation",)


@admin.register(BotVariable)
class BotVariableAdmin(admin.ModelAdmin):
    list_display = ("name", "bot", "is_draft", "updated_at")
    list_filter = ("bot", "is_draft")
