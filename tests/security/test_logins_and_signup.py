"""Issue 14 item 9: login throttling, REST API rates on Redis, who may sign up, and password
reset by mail; real requests through the studio's pages and API (docs/security.md)."""
import re
from datetime import timedelta

import pytest
import redis
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings

from studio.people import tokens, workspaces
from studio.people.models import Membership, Role

from .test_secrets_and_keys import POSTGRES, load_settings

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-pass-phrase-1"


@pytest.fixture
def ann(django_user_model):
    user = django_user_model.objects.create_user("ann@example.com", "ann@example.com", PASSWORD)
    user.workspace = workspaces.create_workspace(user, "Acme")
    return user


def log_in(client, email, password, address="203.0.113.7"):
    return client.post("/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_that_email_from_that_address_for_the_cool_off(ann):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert "do not match" in log_in(client, "ann@example.com", f"wrong-{attempt}").content.decode()
    locked = log_in(client, "Ann@Example.com", "wrong-last")  # another spelling counts the same
    assert locked.status_code == 429
    assert "Too many failed logins for this email from your address. Try again in 15 minutes" in locked.content.decode()

    # The right password does not get through while locked out, in any spelling of the email.
    for email in ("ann@example.com", " ANN@example.com"):
        refused = log_in(client, email, PASSWORD)
        assert refused.status_code == 429 and "_auth_user_id" not in client.session
    # Another address is another count: the owner can still log in from elsewhere.
    assert log_in(Client(), "ann@example.com", PASSWORD, address="198.51.100.9").status_code == 302

    # After the cool-off (15 minutes since the last try) the right password works again.
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    assert log_in(client, "ann@example.com", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()  # a right password clears the count


def test_the_admin_login_is_throttled_too(ann):
    ann.is_staff = ann.is_superuser = True
    ann.save()
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "ann@example.com", "password": f"no-{attempt}"}, REMOTE_ADDR="192.0.2.1")
    refused = client.post("/admin/login/", {"username": "ann@example.com", "password": PASSWORD}, REMOTE_ADDR="192.0.2.1")
    assert refused.status_code == 429 and "_auth_user_id" not in client.session


@override_settings(FLOWSTUDIO_API_RATE_USER="3/minute")
def test_the_rest_api_answers_429_past_the_rate_counted_in_redis(ann):
    cache.delete(f"throttle_user_{ann.pk}")  # a count left by an earlier run of the suite
    _, raw = tokens.create_token(ann, "ci")
    bearer = Client(headers={"Authorization": f"Bearer {raw}"})
    session = Client()
    session.force_login(ann)
    # Token and session are the same person: one count.
    answers = [bearer.get("/api/v1/workspaces").status_code, session.get("/api/v1/workspaces").status_code,
               bearer.get("/api/v1/workspaces").status_code]
    assert answers == [200, 200, 200]
    refused = session.get("/api/v1/workspaces")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60

    # The count is in Redis (REDIS_URL), where every process of the studio sees it.
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.keys(f"flowstudio:1:throttle_user_{ann.pk}")


@override_settings(FLOWSTUDIO_API_RATE_ANONYMOUS="2/minute")
def test_anonymous_api_calls_have_their_own_rate_per_address():
    address = "198.51.100.77"
    cache.delete(f"throttle_anon_{address}")
    answers = [Client().get("/api/v1/schema/", REMOTE_ADDR=address).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert Client().get("/api/v1/schema/", REMOTE_ADDR="198.51.100.78").status_code == 200


def test_sign_up_defaults_to_invite_only_except_on_the_embedded_default():
    script = "from django.conf import settings; print(settings.FLOWSTUDIO_SIGNUP)"
    import os, subprocess, sys  # noqa: E401
    from pathlib import Path
    from cryptography.fernet import Fernet

    def signup_setting(**env):
        clean = {k: v for k, v in os.environ.items() if k not in ("FLOWSTUDIO_SIGNUP", "DATABASE_URL", "DEBUG")}
        clean.update(env, DJANGO_SETTINGS_MODULE="studio.settings", SQLITE_PATH=":memory:")
        return subprocess.run([sys.executable, "-c", "import django; django.setup(); " + script],
                              cwd=Path(__file__).resolve().parents[2], env=clean, capture_output=True, text=True,
                              timeout=60).stdout.strip()

    assert signup_setting(DATABASE_URL=POSTGRES) == "invite-only"
    assert signup_setting() == "open"
    assert signup_setting(FLOWSTUDIO_PROFILE="production") == "invite-only"
    wrong = load_settings(FLOWSTUDIO_SIGNUP="sometimes")
    assert "FLOWSTUDIO_SIGNUP: 'sometimes' is not one of open, invite-only, closed" in wrong.stderr


@override_settings(FLOWSTUDIO_SIGNUP="invite-only")
def test_invite_only_refuses_the_sign_up_page_but_an_invitation_still_creates_the_account(ann):
    client = Client()
    page = client.get("/accounts/signup/")
    assert page.status_code == 403 and "by invitation only" in page.content.decode()
    posted = client.post("/accounts/signup/", {"name": "Zoe", "email": "zoe@example.com", "password": PASSWORD})
    assert posted.status_code == 403 and not get_user_model().objects.filter(email="zoe@example.com").exists()
    login_page = client.get("/accounts/login/").content.decode()
    assert "/accounts/signup/" not in login_page and "Ask a workspace administrator for an invitation" in login_page

    issued = workspaces.invite(ann.workspace, "bob@example.com", Role.DEVELOPER, invited_by=ann)
    joined = client.post(issued.path, {"name": "Bob", "email": "bob@example.com", "password": PASSWORD})
    assert joined.status_code == 302
    bob = get_user_model().objects.get(email="bob@example.com")
    assert Membership.objects.get(user=bob).workspace == ann.workspace


@override_settings(FLOWSTUDIO_SIGNUP="closed")
def test_closed_sign_up_makes_no_account_even_by_invitation_but_members_still_join(ann, django_user_model):
    client = Client()
    assert "does not take new accounts" in client.get("/accounts/signup/").content.decode()
    issued = workspaces.invite(ann.workspace, "bob@example.com", Role.DEVELOPER, invited_by=ann)
    page = client.get(issued.path).content.decode()
    assert "Ask its administrator to create an account for bob@example.com" in page
    refused = client.post(issued.path, {"name": "Bob", "email": "bob@example.com", "password": PASSWORD})
    assert refused.status_code == 403 and not django_user_model.objects.filter(email="bob@example.com").exists()

    # An account the administrator made accepts the same link.
    bob = django_user_model.objects.create_user("bob@example.com", "bob@example.com", PASSWORD)
    client.force_login(bob)
    assert client.post(issued.path).status_code == 302
    assert Membership.objects.filter(user=bob, workspace=ann.workspace).exists()


def test_password_reset_by_mail_sets_a_new_password_and_ends_a_lockout(ann):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "ann@example.com", f"wrong-{attempt}")
    assert log_in(client, "ann@example.com", PASSWORD).status_code == 429

    assert "Forgot your password?" in client.get("/accounts/login/").content.decode()
    sent = client.post("/accounts/password/reset/", {"email": "ANN@example.com"})
    assert sent["Location"] == "/accounts/password/reset/sent/"
    assert "a link to choose a new password is on its way" in client.get(sent["Location"]).content.decode()
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert unknown["Location"] == sent["Location"]  # the page does not tell who has an account
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ann@example.com"]
    link = re.search(r"(http\S+/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    assert link.startswith(settings.PUBLIC_URL + "/")

    form_page = client.get(link.removeprefix(settings.PUBLIC_URL), follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": "another-long-phrase-2",
                                                          "new_password2": "another-long-phrase-2"})
    assert done["Location"] == "/accounts/login/"
    assert log_in(client, "ann@example.com", "another-long-phrase-2").status_code == 302
    # The link works once.
    again = Client().get(link.removeprefix(settings.PUBLIC_URL), follow=True).content.decode()
    assert "This reset link was already used or has expired" in again


@override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
def test_without_mail_the_reset_page_says_so_and_promises_nothing(ann):
    client = Client()
    assert "This studio sends no mail" in client.get("/accounts/password/reset/").content.decode()
    answer = client.post("/accounts/password/reset/", {"email": "ann@example.com"})
    assert answer.status_code == 200 and "This studio sends no mail" in answer.content.decode()
