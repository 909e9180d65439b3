"""The instance admin's view of the people's side. Secrets (token hashes) are never shown;
audit entries are read-only."""
from django.contrib import admin

from studio.people.models import AuditEntry, Invitation, Membership, PersonalAccessToken, Profile, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_by", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "workspace", "role", "invited_by", "expires_at", "accepted_at"]
    exclude = ["token_hash"]
    readonly_fields = ["workspace", "email", "role", "invited_by", "expires_at", "accepted_at"]

    def has_add_permission(self, request):
        return False  # invitations come from the members page, which shows the link


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    list_display = ["note", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    exclude = ["token_hash"]
    readonly_fields = ["user", "note", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # a token is shown once, to its user, on /tokens/


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "workspace", "actor", "action", "target_repr"]
    list_filter = ["action"]
    search_fields = ["target_repr", "action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name"]
    exclude = ["avatar_data"]
