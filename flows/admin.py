from django import forms
from django.contrib import admin

from flows.models import Bot, BotVersion, ConfigValue


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "draft_revision", "updated_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "draft_revision", "created_at", "updated_at"]


@admin.register(BotVersion)
class BotVersionAdmin(admin.ModelAdmin):
    list_display = ["bot", "number", "author", "created_at", "note"]
    list_filter = ["bot"]
    exclude = ["intent_model"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("intent_model")  # embeddings, not for people

    # Versions are immutable: the admin may look, never edit.
    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


class ConfigValueForm(forms.ModelForm):
    # Write-only: the clear text is never rendered back into the page.
    value = forms.CharField(widget=forms.PasswordInput(render_value=False), strip=False)

    class Meta:
        model = ConfigValue
        fields = ["bot", "name", "environment"]

    def save(self, commit=True):
        self.instance.value = self.cleaned_data["value"]
        return super().save(commit)


@admin.register(ConfigValue)
class ConfigValueAdmin(admin.ModelAdmin):
    form = ConfigValueForm
    list_display = ["bot", "name", "environment", "updated_at"]
    list_filter = ["environment"]
