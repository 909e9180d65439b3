"""Forms of the studio pages. They only shape input; the rules live in the services."""
from django import forms
from django.contrib.auth import forms as auth_forms

from flows import bot_templates
from studio.people.models import Role
from studio.people.workspaces import INVITABLE_ROLES

ROLE_CHOICES = [(r.value, r.label) for r in INVITABLE_ROLES]


class StudioForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")  # labels read "Email", not "Email:"
        super().__init__(*args, **kwargs)


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SetPasswordForm(auth_forms.SetPasswordForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LoginForm(auth_forms.AuthenticationForm):
    username = forms.CharField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class SignUpForm(StudioForm):
    name = forms.CharField(label="Your name", max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False)


class ProfileForm(StudioForm):
    display_name = forms.CharField(label="Name", max_length=100, required=False)
    avatar = forms.FileField(label="Upload an avatar", required=False, help_text="PNG, JPEG or GIF")
    avatar_url = forms.CharField(label="…or an image URL", required=False)
    clear_avatar = forms.BooleanField(label="Remove my avatar", required=False)


class WorkspaceNameForm(StudioForm):
    name = forms.CharField(max_length=100)


class DeleteWorkspaceForm(StudioForm):
    confirm_name = forms.CharField(label="Type the workspace's name to confirm", required=False)


class InviteForm(StudioForm):
    email = forms.CharField(widget=forms.EmailInput(attrs={"placeholder": "name@example.com"}))
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=Role.DEVELOPER.value)


class RoleForm(StudioForm):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class TokenForm(StudioForm):
    note = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "What is it for? e.g. CI deploys"}))


class NewBotForm(StudioForm):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "Support bot"}))
    description = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "Optional"}))
    # The dialog draws the choices as cards (templates/studio/_new_bot_dialog.html); a post
    # without one (a script, an old page) makes a blank bot as before.
    template = forms.ChoiceField(choices=[(t.key, t.title) for t in bot_templates.TEMPLATES], initial="blank",
                                 required=False, widget=forms.RadioSelect)


class ImportBotForm(StudioForm):
    file = forms.FileField(label="Bot file (.bot.json)")


class AuditFilterForm(StudioForm):
    actor = forms.ChoiceField(required=False)
    action = forms.ChoiceField(required=False)
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actors=(), actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone"), *actors]
        self.fields["action"].choices = [("", "Any action"), *actions]


class ProviderForm(StudioForm):
    """An LLM provider on the AI settings page. The key is write-only: the field starts empty
    and an empty key on a change keeps the stored one."""
    name = forms.CharField(max_length=64, help_text="How bots and cards name it: letters, digits, - and _.")
    base_url = forms.CharField(label="Base URL", max_length=500,
                               help_text="An OpenAI-compatible endpoint, e.g. https://api.openai.com/v1")
    api_key = forms.CharField(label="API key", required=False, max_length=1000, strip=False,
                              widget=forms.PasswordInput(attrs={"autocomplete": "off"}))
    remove_api_key = forms.BooleanField(label="Remove the stored key", required=False)
    models = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="One per line: the model id, and after a comma how cards may name it, "
                                       "e.g. gpt-4o-mini, Fast")
    default_model = forms.CharField(label="Default model", required=False, max_length=200,
                                    help_text="The id or name of the model a card without one gets.")
    is_default = forms.BooleanField(label="The workspace's default provider", required=False)
    timeout_seconds = forms.FloatField(label="Timeout (seconds)", initial=20,
                                       widget=forms.NumberInput(attrs={"step": "any"}))
    max_retries = forms.IntegerField(label="Retries", initial=2)

    def __init__(self, *args, editing=False, has_key=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields["api_key"].help_text = (
                "A key is set: leave empty to keep it." if has_key else "No key is set; leave empty for none.")
        else:
            self.fields["api_key"].help_text = "Stored encrypted and never shown again."
            del self.fields["remove_api_key"]

    @staticmethod
    def models_text(models: list) -> str:
        return "\n".join(m["id"] + (f", {m['label']}" if m.get("label") else "") for m in models)

    def changes(self, current: dict | None = None) -> dict:
        """The fields as integrations.llm.services.save_provider takes them. On a change
        (`current` is the provider as described), models typed as they were shown are not
        sent, so what the page cannot show (prices, context windows) is kept."""
        data = self.cleaned_data
        out = {"name": data["name"].strip(), "base_url": data["base_url"].strip(),
               "default_model": data["default_model"].strip(), "is_default": data["is_default"],
               "timeout_seconds": data["timeout_seconds"], "max_retries": data["max_retries"]}
        if data.get("remove_api_key"):
            out["api_key"] = ""
        elif data["api_key"]:
            out["api_key"] = data["api_key"]
        lines = [line.strip() for line in data["models"].splitlines() if line.strip()]
        if current is None or "\n".join(lines) != self.models_text(current["models"]):
            models = []
            for line in lines:
                model_id, _, label = line.partition(",")
                models.append({"id": model_id.strip(), **({"label": label.strip()} if label.strip() else {})})
            out["models"] = models
        return out


class MCPServerForm(StudioForm):
    """An MCP server on the AI settings page; the token and header values are write-only."""
    name = forms.CharField(max_length=64, help_text="Letters, digits, - and _; its tools are named name.tool.")
    url = forms.CharField(label="URL", max_length=500, help_text="The streamable-HTTP endpoint, e.g. https://tools.example.com/mcp")
    token = forms.CharField(label="Bearer token", required=False, max_length=4000, strip=False,
                            widget=forms.PasswordInput(attrs={"autocomplete": "off"}))
    remove_token = forms.BooleanField(label="Remove the stored token", required=False)
    headers = forms.CharField(label="Extra headers", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    timeout_seconds = forms.FloatField(label="Timeout (seconds)", initial=10,
                                       widget=forms.NumberInput(attrs={"step": "any"}))

    def __init__(self, *args, editing=False, has_token=False, header_names=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields["token"].help_text = (
                "A token is set: leave empty to keep it." if has_token else "No token is set; leave empty for none.")
            self.fields["headers"].help_text = (
                "One per line, Name: value. " + (f"Set now: {', '.join(header_names)}; leave empty to keep them, "
                                                 "or tick below to remove them." if header_names else "None set."))
            self.fields["remove_headers"] = forms.BooleanField(label="Remove the stored headers", required=False)
        else:
            self.fields["token"].help_text = "Sent as Authorization: Bearer …; stored encrypted, never shown again."
            self.fields["headers"].help_text = "One per line, Name: value (e.g. X-Tenant: acme); stored encrypted."
            del self.fields["remove_token"]

    def clean_headers(self):
        headers = {}
        for number, line in enumerate(self.cleaned_data["headers"].splitlines(), 1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise forms.ValidationError(f"Line {number} is not Name: value.")
            headers[name.strip()] = value.strip()
        return headers

    def changes(self, current: dict | None = None) -> dict:
        """The fields as integrations.llm.mcp_tools.save_mcp_server takes them; an empty
        token or header list on a change keeps the stored one. (`current`, the server as
        described, changes nothing: the page shows every field of a server.)"""
        data = self.cleaned_data
        out = {"name": data["name"].strip(), "url": data["url"].strip(), "timeout_seconds": data["timeout_seconds"]}
        if data.get("remove_token"):
            out["token"] = ""
        elif data["token"]:
            out["token"] = data["token"]
        if data.get("remove_headers"):
            out["headers"] = {}
        elif data["headers"] or not self.editing:
            out["headers"] = data["headers"]
        return out
