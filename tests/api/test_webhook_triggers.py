"""The webhook triggers of the REST API: the draft's webhook trigger nodes with their URL,
and a secret shown only when it is made or rotated, which the trigger URL then accepts."""
import json

import pytest

from runtime import triggers
from studio.people.models import AuditEntry


@pytest.mark.django_db
def test_list_rotate_and_use_a_webhook_trigger_secret(world, owner_client):
    base = f"/api/v1/bots/{world.bot.pk}/webhook-triggers"
    listed = owner_client.get(base).json()
    assert listed == [{"flow": "main", "node": "paid", "auth": "signature", "hasSecret": False,
                       "url": f"http://testserver/triggers/{world.bot.pk}/main/paid/"}]
    first = owner_client.post(base + "/main/paid/secret").json()
    assert first["url"] == listed[0]["url"] and len(first["secret"]) >= 32
    assert owner_client.get(base).json()[0]["hasSecret"] is True
    assert first["secret"] not in owner_client.get(base).content.decode()
    second = owner_client.post(base + "/main/paid/secret").json()
    assert second["secret"] != first["secret"]
    assert triggers.webhook_secret(world.bot, "main", "paid") == second["secret"]
    entries = AuditEntry.objects.filter(action="trigger.secret", workspace=world.bot.workspace)
    assert entries.count() == 2 and entries.first().details == {"flow": "main", "node": "paid"}
    assert second["secret"] not in json.dumps(list(entries.values("details")), default=str)
    missing = owner_client.post(base + "/main/loop/secret")
    assert missing.status_code == 404 and "no webhook trigger 'loop'" in missing.json()["error"]["message"]
