"""Tokens against a real REST API endpoint (GET /api/v1/workspaces)."""
import pytest
from rest_framework.test import APIClient

from studio.people import tokens, workspaces
from studio.people.models import PersonalAccessToken

pytestmark = pytest.mark.django_db


def get_workspaces(header=None):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get("/api/v1/workspaces")


def test_bearer_token_on_the_api(django_user_model):
    ann = django_user_model.objects.create_user("ann@example.com", "ann@example.com", "pw")
    workspaces.create_workspace(ann, "Acme")
    token, raw = tokens.create_token(ann, "script")

    ok = get_workspaces(f"Bearer {raw}")
    assert ok.status_code == 200
    assert "Acme" in ok.content.decode()

    assert get_workspaces(f"Bearer {raw[:-1]}X").status_code == 401
    assert get_workspaces("Bearer fs_pat_made-up").status_code == 401
    assert get_workspaces().status_code == 401
    tokens.revoke(token, actor=ann)
    revoked = get_workspaces(f"Bearer {raw}")
    assert revoked.status_code == 401
    # The database never saw the token itself.
    row = PersonalAccessToken.objects.filter(pk=token.pk).values().get()
    assert all(raw not in str(value) for value in row.values())
