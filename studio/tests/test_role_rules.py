"""The role rules as a table: every role x every permission (platform-inventory 1.4)."""
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404

from flows.models import Bot
from studio.people.models import Membership, Role, Workspace
from studio.permissions import (
    BOT_PERMISSIONS,
    WORKSPACE_PERMISSIONS,
    can,
    get_bot_for,
    get_workspace_for,
    role_of,
    workspaces_for,
)

pytestmark = pytest.mark.django_db

O, A, M, D, V, B = (Role.OWNER, Role.ADMINISTRATOR, Role.MANAGER, Role.DEVELOPER, Role.VIEWER, Role.BILLING_MANAGER)

# permission -> roles allowed. Written out by hand from the issue, not derived from the code.
EXPECTED = {
    "studio.view_workspace": {O, A, M, D, V, B},
    "studio.change_workspace": {O, A, B},
    "studio.delete_workspace": {O},
    "studio.manage_members": {O, A},
    "studio.view_audit": {O, A, M},
    "studio.view_usage": {O, A, B},
    "studio.manage_llm_providers": {O, A},
    "studio.handle_conversations": {O, A, M, D},
    "flows.add_bot": {O, A, M, D},
    "flows.view_bot": {O, A, M, D, V},
    "flows.change_bot": {O, A, M, D},
    "flows.publish_bot": {O, A, M, D},
    "flows.delete_bot": {O, A, M},  # developer only on bots they created: see below
    "flows.view_conversations": {O, A, M, D, V},
    "flows.change_config": {O, A, M, D},
}


def test_the_table_covers_every_permission():
    assert set(EXPECTED) == set(WORKSPACE_PERMISSIONS) | set(BOT_PERMISSIONS)


@pytest.fixture
def world(django_user_model):
    owner = django_user_model.objects.create_user("owner", "owner@example.com", "pw")
    workspace = Workspace.objects.create(name="Acme", slug="acme", created_by=owner)
    users = {}
    for role in Role:
        user = owner if role == O else django_user_model.objects.create_user(role.value, f"{role.value}@example.com", "pw")
        Membership.objects.create(workspace=workspace, user=user, role=role)
        users[role] = user
    bot = Bot.objects.create(workspace=workspace, name="Support", created_by=owner)
    return workspace, users, bot


@pytest.mark.parametrize("perm", sorted(EXPECTED))
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_role_x_permission(world, role, perm):
    workspace, users, bot = world
    obj = workspace if perm in WORKSPACE_PERMISSIONS else bot
    assert can(users[role], perm, obj) is (role in EXPECTED[perm])


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_delete_own_bot(world, role):
    """A developer may delete bots they created; the others keep their table row."""
    workspace, users, _ = world
    own = Bot.objects.create(workspace=workspace, name="Mine", created_by=users[role])
    assert can(users[role], "flows.delete_bot", own) is (role in {O, A, M, D})


def test_non_member_and_anonymous_hold_nothing(world, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    workspace, _, bot = world
    stranger = django_user_model.objects.create_user("stranger", "s@example.com", "pw")
    for user in (stranger, AnonymousUser()):
        for perm in EXPECTED:
            assert not can(user, perm, workspace if perm in WORKSPACE_PERMISSIONS else bot)
        assert role_of(user, workspace) is None
        assert list(workspaces_for(user)) == []


def test_superuser_gets_nothing_without_membership(world, django_user_model):
    workspace, _, bot = world
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    assert not can(root, "flows.view_bot", bot)
    with pytest.raises(Http404):
        get_bot_for(root, bot.pk)


def test_inactive_member_holds_nothing(world):
    workspace, users, bot = world
    users[A].is_active = False
    users[A].save()
    assert role_of(users[A], workspace) is None
    assert not can(users[A], "flows.view_bot", bot)


def test_get_workspace_for(world, django_user_model):
    workspace, users, _ = world
    assert get_workspace_for(users[V], "acme") == workspace
    assert get_workspace_for(users[V], workspace.pk) == workspace
    assert get_workspace_for(users[V], str(workspace.pk)) == workspace
    with pytest.raises(PermissionDenied):
        get_workspace_for(users[V], "acme", perm="studio.manage_members")
    stranger = django_user_model.objects.create_user("stranger", "s@example.com", "pw")
    with pytest.raises(Http404):
        get_workspace_for(stranger, "acme")
    with pytest.raises(Http404):
        get_workspace_for(users[O], "no-such-workspace")
    with pytest.raises(Http404):  # a digit to str.isdigit(), not to int()
        get_workspace_for(users[O], "³")


def test_get_bot_for_hides_other_workspaces(world, django_user_model):
    workspace, users, bot = world
    assert get_bot_for(users[V], bot.pk) == bot
    assert get_bot_for(users[V], str(bot.pk)) == bot
    with pytest.raises(PermissionDenied):
        get_bot_for(users[V], bot.pk, perm="flows.change_bot")
    with pytest.raises(PermissionDenied):
        get_bot_for(users[B], bot.pk)  # a billing manager is a member but sees no bot content
    other_owner = django_user_model.objects.create_user("other", "other@example.com", "pw")
    other = Workspace.objects.create(name="Other", slug="other")
    Membership.objects.create(workspace=other, user=other_owner, role=O)
    # Same answer for "exists elsewhere", "never existed" and "not even a uuid".
    for bot_id in (bot.pk, "00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        with pytest.raises(Http404):
            get_bot_for(other_owner, bot_id)


def test_user_has_perm_goes_through_rules(world):
    workspace, users, bot = world
    assert users[D].has_perm("flows.change_bot", bot)
    assert not users[V].has_perm("flows.change_bot", bot)
    assert users[M].has_perm("studio.view_audit", workspace)


def test_role_of(world):
    workspace, users, _ = world
    for role, user in users.items():
        assert role_of(user, workspace) == role
    assert get_user_model().objects.count() == len(Role)
