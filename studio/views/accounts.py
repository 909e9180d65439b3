from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST


class LoginView(auth_views.LoginView):
    template_name = "studio/login.html"
    redirect_authenticated_user = True


@require_POST
def logout_view(request):
    auth.logout(request)
    return redirect("studio:login")


def accept_invitation(request, token):
    return HttpResponse("not yet", status=501)
