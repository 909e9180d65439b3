from django.urls import path

from studio.views import accounts

app_name = "studio"
urlpatterns = [
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", accounts.logout_view, name="logout"),
    path("invitations/<str:token>/", accounts.accept_invitation, name="accept_invitation"),
]
