"""Every malformed bot file of the validator's catalogue, pushed through the real import:
each is refused with the right path and reason, and nothing at all reaches the database."""
import json

import pytest

from flows.botfile.tests.bots import base_bot
from flows.botfile.tests.test_malformed_bots import CASES
from flows.models import Bot, BotVersion
from flows.services import BotFileInvalid, import_bot
from studio.people.models import Workspace

pytestmark = pytest.mark.django_db


def _counts():
    return Bot.objects.count(), BotVersion.objects.count(), Workspace.objects.count()


def test_the_catalogue_has_at_least_twenty_distinct_files():
    assert len(CASES) >= 20


@pytest.mark.parametrize("mutate, path, phrase", CASES)
def test_import_refuses_and_stores_nothing(mutate, path, phrase):
    doc = base_bot()
    mutate(doc)
    before = _counts()
    with pytest.raises(BotFileInvalid) as caught:
        # As text, the way `bot import FILE` and uploads arrive; no workspace given, so a
        # refused file must not even create the default one.
        import_bot(json.dumps(doc), workspace=None)
    assert _counts() == before
    at_path = [p.message for p in caught.value.problems if p.path == path]
    assert any(phrase in message for message in at_path), [str(p) for p in caught.value.problems]
