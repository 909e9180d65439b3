"""Personal access tokens: shown once, stored hashed, 401 when wrong or revoked."""
import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from studio.people import tokens, workspaces
from studio.people.models import AuditEntry, PersonalAccessToken


class WhoAmI(APIView):
    def get(self, request):
        return Response({"email": request.user.email, "auth": type(request.auth).__name__})


urlpatterns = [path("whoami/", WhoAmI.as_view())]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture
def user(django_user_model):
    user = django_user_model.objects.create_user("ann@example.com", "ann@example.com", "pw")
    workspaces.create_workspace(user, "Acme")
    return user


def call(raw=None, header=None):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    elif raw is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client.get("/whoami/")


def test_a_token_authenticates_and_is_stored_hashed(user):
    token, raw = tokens.create_token(user, "CI deploys")
    assert raw.startswith("fs_pat_") and len(raw) > 40
    row = PersonalAccessToken.objects.filter(pk=token.pk).values().get()
    assert raw not in str(row)  # neither the hash column nor any other holds the token
    assert row["token_hash"] == tokens.hash_token(raw) and row["prefix"] == raw[:11]
    assert row["last_used_at"] is None
    response = call(raw)
    assert response.status_code == 200
    assert response.json() == {"email": "ann@example.com", "auth": "PersonalAccessToken"}
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_wrong_revoked_and_malformed_tokens_are_401(user):
    token, raw = tokens.create_token(user, "laptop")
    for bad in (raw + "x", "fs_pat_" + "A" * 43, "nonsense"):
        response = call(bad)
        assert response.status_code == 401, bad
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert call(header="Bearer").status_code == 401
    assert call(header=f"Bearer {raw} extra").status_code == 401
    assert call().status_code == 401  # no credentials at all
    tokens.revoke(token, actor=user)
    assert call(raw).status_code == 401
    assert call(raw).json()["detail"] == "invalid or revoked token"


def test_inactive_users_tokens_stop_working(user):
    _, raw = tokens.create_token(user, "laptop")
    user.is_active = False
    user.save()
    assert call(raw).status_code == 401


def test_token_events_are_audited_without_the_secret(user):
    token, raw = tokens.create_token(user, "CI")
    tokens.revoke(token, actor=user)
    tokens.revoke(token, actor=user)  # twice is a no-op
    entries = list(AuditEntry.objects.filter(action__startswith="token.").order_by("id"))
    assert [e.action for e in entries] == ["token.create", "token.revoke"]
    assert all(raw not in str(e.details) and token.token_hash not in str(e.details) for e in entries)
    assert entries[0].details["note"] == "CI" and entries[0].workspace.name == "Acme"


def test_a_note_is_required(user):
    with pytest.raises(tokens.TokenNoteInvalid, match="note:"):
        tokens.create_token(user, "  ")
    assert not PersonalAccessToken.objects.exists()
