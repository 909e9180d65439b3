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
