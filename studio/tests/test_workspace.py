import pytest

from flows.services import default_workspace
from studio.people.models import Workspace

pytestmark = pytest.mark.django_db


def test_default_workspace_is_created_once():
    first = default_workspace()
    second = default_workspace()
    assert first.pk == second.pk
    assert (first.name, first.slug) == ("Default", "default")
    assert Workspace.objects.count() == 1
