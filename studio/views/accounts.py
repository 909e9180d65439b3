"""Sign up, log in and out, password, profile and avatars."""
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
from studio.forms import LoginForm, PasswordChangeForm, ProfileForm, SignUpForm
from studio.people.models import Profile


class LoginView(auth_views.LoginView):
    template_name = "studio/accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


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
