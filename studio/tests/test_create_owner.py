"""`manage.py create_owner`: the first login without prompts, owning the orphan workspaces."""
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from flows.services import default_workspace
from studio.people.models import Membership, Role

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_owner", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_first_owner_gets_a_workspace_and_a_random_password():
    slug, messages = run("--email", "Admin@Example.com", "--workspace", "Demo workspace")
    assert slug == "demo-workspace"
    user = get_user_model().objects.get()
    assert (user.email, user.is_superuser) == ("admin@example.com", True)
    password = messages.split("Password: ")[1].split()[0]
    assert user.check_password(password)
    assert Membership.objects.get(user=user).role == Role.OWNER


def test_orphan_workspaces_are_adopted_and_reruns_change_nothing():
    orphan = default_workspace()  # what `manage.py bot import` makes
    slug, _ = run("--email", "admin@example.com", "--password", "a-good-long-password")
    assert slug == orphan.slug
    assert Membership.objects.get(workspace=orphan).role == Role.OWNER
    again, messages = run("--email", "admin@example.com", "--password", "another-password-here")
    assert again == slug and "unchanged" in messages
    assert get_user_model().objects.get().check_password("a-good-long-password")
    assert Membership.objects.count() == 1
