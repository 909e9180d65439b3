"""Sign up, log in and out (throttled by django-axes), password and its reset by mail,
profile and avatars."""
from axes.helpers import get_cool_off
from axes.utils import reset as reset_login_failures
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from studio import accounts
from studio.forms import LoginForm, PasswordChangeForm, ProfileForm, SetPasswordForm, SignUpForm
from studio.people.models import Profile


class LoginView(auth_views.LoginView):
    template_name = "studio/accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "signup_open": accounts.self_signup_open()}


def login_username(request, credentials=None):
    """The login django-axes counts failures for: the email as the login form reads it, so
    `Ann@Example.com` and `ann@example.com` share one count."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return accounts.normalize_email(raw)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: the login page, saying why and for how long."""
    minutes = max(1, int(get_cool_off(request).total_seconds() // 60))
    form = LoginForm(request, data=None, initial={"username": login_username(request, credentials)})
    return render(request, "studio/accounts/login.html", {
        "form": form, "locked_out_minutes": minutes, "signup_open": accounts.self_signup_open(),
        "next": request.POST.get("next", ""),
    }, status=429)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "studio/accounts/password_reset.html"
    email_template_name = "studio/accounts/password_reset_email.txt"
    subject_template_name = "studio/accounts/password_reset_subject.txt"
    success_url = reverse_lazy("studio:password_reset_sent")

    @property
    def extra_email_context(self):
        # The link points at PUBLIC_URL, not at whatever Host the request named.
        return {"public_url": settings.PUBLIC_URL}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "mail_delivered": accounts.mail_is_delivered()}

    def form_valid(self, form):
        if not accounts.mail_is_delivered():
            return self.form_invalid(form)
        return super().form_valid(form)


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "studio/accounts/password_reset_sent.html"

    def get_context_data(self, **kwargs):
        minutes = settings.PASSWORD_RESET_TIMEOUT // 60
        timeout = f"{minutes // 60} hour{'s' if minutes >= 120 else ''}" if minutes % 60 == 0 else f"{minutes} minutes"
        return {**super().get_context_data(**kwargs), "timeout_hours": timeout}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "studio/accounts/password_reset_confirm.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("studio:login")

    def form_valid(self, form):
        response = super().form_valid(form)
        # The owner proved they hold the mailbox: a lockout of their email ends here.
        reset_login_failures(username=accounts.normalize_email(form.user.username))
        messages.success(self.request, "Your password was changed. Log in with the new one.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "studio/accounts/password.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("studio:profile")

    def form_valid(self, form):
        messages.success(self.request, "Your password was changed.")
        return super().form_valid(form)


@require_POST
def logout_view(request):
    auth.logout(request)
    # e.g. back to an invitation link, to accept it as the invited person.
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("studio:login")


def signup(request):
    if request.user.is_authenticated:
        return redirect("studio:home")
    if not accounts.self_signup_open():
        return render(request, "studio/accounts/signup_closed.html", {"mode": settings.FLOWSTUDIO_SIGNUP}, status=403)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.sign_up(form.cleaned_data["email"], form.cleaned_data["password"], name=form.cleaned_data["name"])
        except accounts.AccountError as exc:
            form.add_error(exc.field, exc.message)
        else:
            auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("studio:home")
    return render(request, "studio/accounts/signup.html", {"form": form})


@login_required
def profile(request):
    current = accounts.profile_of(request.user)
    form = ProfileForm(
        request.POST or None, request.FILES or None,
        initial={"display_name": current.display_name, "avatar_url": current.avatar_url},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():  # a refused avatar leaves the name as it was, too
                accounts.update_profile(request.user, display_name=data["display_name"], avatar_url=data["avatar_url"])
                if data["clear_avatar"]:
                    accounts.clear_avatar(request.user)
                elif data["avatar"]:
                    # One byte past the limit is enough to refuse without reading a huge file.
                    accounts.set_avatar(request.user, data["avatar"].read(settings.FLOWSTUDIO_AVATAR_MAX_BYTES + 1))
        except accounts.AccountError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, "Profile saved.")
            return redirect("studio:profile")
    return render(request, "studio/accounts/profile.html", {
        "form": form, "profile": current, "avatar_limit_kb": settings.FLOWSTUDIO_AVATAR_MAX_BYTES // 1024,
    })


@login_required
def avatar(request, user_id):
    found = get_object_or_404(Profile, user_id=user_id)
    if not found.avatar_data:
        raise Http404("no avatar")
    response = HttpResponse(bytes(found.avatar_data), content_type=found.avatar_content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
