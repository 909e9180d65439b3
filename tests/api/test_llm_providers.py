"""A workspace's LLM providers and a bot's LLM usage through the REST API: admins add,
change and remove providers, every member reads them, the key is never shown (not in an
answer, not in the audit log, not in a log line), and refusals name the field as a JSON path."""
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from flows import services as flow_services
from integrations.llm import scripted_server as s
from integrations.llm.models import LLMProvider
from integrations.llm.testing import scripted_llm_server  # noqa: F401  (fixture)
from runtime import turns
from runtime.models import LLMUsage
from studio.people.models import AuditEntry
from tests.api.conftest import make_world

KEY = "sk-canary-provider-key-5c7e9a1b3d"
MODELS = [{"id": "gpt-fast", "label": "Fast", "priceIn": 0.5, "priceOut": 1.5},
          {"id": "gpt-best", "label": "Best", "priceIn": 5, "priceOut": 15}]


def providers_url(world):
    return f"/api/v1/workspaces/{world.workspace.slug}/llm-providers"


def new_provider(**changes):
    return {"name": "openai", "base_url": "https://api.openai.example/v1", "api_key": KEY, "models": MODELS,
            "default_model": "Fast", **changes}


@pytest.mark.django_db
def test_an_admin_adds_a_provider_and_every_member_sees_it_without_the_key(world, owner_client, caplog):
    caplog.set_level(logging.DEBUG)
    created = owner_client.post(providers_url(world), new_provider(), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["name"], body["base_url"], body["has_api_key"], body["default_model"]) == \
        ("openai", "https://api.openai.example/v1", True, "Fast")
    assert body["resolved_default_model"] == "gpt-fast"
    assert [m["id"] for m in body["models"]] == ["gpt-fast", "gpt-best"]
    assert LLMProvider.objects.get(pk=body["id"]).api_key == KEY

    for who in ("viewer", "billing_manager", "developer"):
        listed = world.client(who).get(providers_url(world))
        assert listed.status_code == 200
        assert sorted(p["name"] for p in listed.json()["providers"]) == ["acme", "openai"]
        detail = world.client(who).get(f"{providers_url(world)}/{body['id']}")
        assert detail.json()["has_api_key"] is True
        assert KEY not in listed.content.decode() + detail.content.decode()
    assert "api_key" not in body and KEY not in created.content.decode()

    entry = AuditEntry.objects.get(action="llm_provider.create")
    assert entry.details["key"] == "replaced" and KEY not in str(entry.details)
    assert KEY not in caplog.text


@pytest.mark.django_db
def test_a_change_keeps_the_key_unless_given_and_a_delete_removes_the_provider(world, owner_client):
    url = f"{providers_url(world)}/{world.provider.pk}"
    changed = owner_client.patch(url, {"default_model": "acme-fast", "is_default": True}, format="json")
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["default_model"], changed.json()["is_default"], changed.json()["has_api_key"]) == \
        ("acme-fast", True, True)
    assert LLMProvider.objects.get(pk=world.provider.pk).api_key == "sk-world-key"

    removed_key = owner_client.patch(url, {"api_key": ""}, format="json").json()
    assert removed_key["has_api_key"] is False

    assert owner_client.delete(url).status_code == 204
    assert owner_client.get(url).status_code == 404
    assert not LLMProvider.objects.filter(pk=world.provider.pk).exists()
    assert AuditEntry.objects.filter(action="llm_provider.delete", target_id=str(world.provider.pk)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body,path", [
    (new_provider(base_url="ftp://files.example.com"), "$.base_url"),
    (new_provider(base_url="not a url"), "$.base_url"),
    (new_provider(models=[MODELS[0], {"id": "x", "priceIn": "cheap"}]), "$.models[1].priceIn"),
    (new_provider(models=[MODELS[0], {"label": "No id"}]), "$.models[1].id"),
    (new_provider(apiKey=KEY), "$.apiKey"),
    (new_provider(name="acme"), "$.name"),
    (new_provider(name="has space"), "$.name"),
    (new_provider(timeout_seconds=60), "$.timeout_seconds"),
    (["not", "an", "object"], "$"),
])
def test_a_refused_provider_names_the_field(world, owner_client, body, path):
    answer = owner_client.post(providers_url(world), body, format="json")
    assert answer.status_code == 400, answer.json()
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    assert [d["path"] for d in error["details"]] == [path], error
    assert KEY not in answer.content.decode()
    assert LLMProvider.objects.filter(workspace=world.workspace).count() == 1  # only the world's own


@pytest.mark.django_db
def test_a_refused_change_names_the_field_and_changes_nothing(world, owner_client):
    url = f"{providers_url(world)}/{world.provider.pk}"
    answer = owner_client.patch(url, {"models": [{"id": "a"}, {"id": "b", "priceOut": -1}]}, format="json")
    assert answer.json()["error"]["details"][0]["path"] == "$.models[1].priceOut"
    assert answer.json()["error"]["message"].startswith("models[1].priceOut: ")
    assert LLMProvider.objects.get(pk=world.provider.pk).models == [
        {"id": "acme-fast", "label": "Fast", "contextWindow": None, "priceIn": 0.0, "priceOut": 0.0}]


@pytest.mark.django_db
def test_a_viewer_and_a_developer_may_not_write(world):
    url = providers_url(world)
    for who in ("viewer", "developer", "manager", "billing_manager"):
        client = world.client(who)
        denied = client.post(url, new_provider(), format="json")
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
        assert client.patch(f"{url}/{world.provider.pk}", {"api_key": "stolen"}, format="json").status_code == 403
        assert client.delete(f"{url}/{world.provider.pk}").status_code == 403
    assert LLMProvider.objects.get(pk=world.provider.pk).api_key == "sk-world-key"


@pytest.mark.django_db
def test_usage_totals_per_model_and_since(world, owner_client):
    url = f"/api/v1/bots/{world.bot.pk}/llm-usage"
    empty = owner_client.get(url).json()
    assert empty == {"since": None, "calls": 0, "tokensIn": 0, "tokensOut": 0, "cost": 0.0, "models": []}

    def usage(model, tokens_in, tokens_out, cost, days_ago=0):
        row = LLMUsage.objects.create(bot=world.bot, conversation=world.conversation, provider="acme", model=model,
                                      tokens_in=tokens_in, tokens_out=tokens_out, cost=cost, card="gen",
                                      purpose="ai_generate_text")
        LLMUsage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days_ago))

    usage("acme-fast", 100, 50, 0.25)
    usage("acme-fast", 300, 150, 0.75, days_ago=10)
    usage("acme-best", 1000, 10, 2.0)
    totals = world.client("viewer").get(url).json()
    assert (totals["calls"], totals["tokensIn"], totals["tokensOut"], totals["cost"]) == (3, 1400, 210, 3.0)
    assert [(m["model"], m["calls"], m["tokensIn"]) for m in totals["models"]] == [
        ("acme-best", 1, 1000), ("acme-fast", 2, 400)]

    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    recent = owner_client.get(url, {"since": since}).json()
    assert (recent["calls"], recent["tokensIn"], recent["cost"]) == (2, 1100, 2.25)
    assert recent["since"].startswith(since)

    bad = owner_client.get(url, {"since": "last tuesday"})
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["path"] == "$query.since"


AI_BOT = {
    "format": "flowstudio.bot/1", "name": "Asker",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "talk"},
        {"id": "talk", "kind": "standard", "cards": [
            {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}", "stream": False},
            {"id": "again", "type": "wait"}], "next": "talk"},
    ]}],
}


@pytest.mark.django_db(transaction=True)
def test_usage_after_a_turn_through_a_provider_added_over_the_api(scripted_llm_server):
    world = make_world()
    owner = world.client("owner")
    added = owner.post(providers_url(world), new_provider(name="scripted", base_url=scripted_llm_server.url,
                                                          is_default=True, max_retries=0), format="json")
    assert added.status_code == 201, added.json()
    bot = flow_services.import_bot(dict(AI_BOT), workspace=world.workspace, user=world.users["owner"])
    flow_services.publish(bot, user=world.users["owner"])
    scripted_llm_server.script([s.text("Hi!", tokens_in=2000, tokens_out=1000)])
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))
    outcome = turns.send_user_message(conversation, "hello")
    assert [o.get("text") for o in outcome.outputs] == ["Hi!"]
    assert scripted_llm_server.headers[0]["authorization"] == f"Bearer {KEY}"

    totals = owner.get(f"/api/v1/bots/{bot.pk}/llm-usage").json()
    assert (totals["calls"], totals["tokensIn"], totals["tokensOut"]) == (1, 2000, 1000)
    # gpt-fast costs 0.5 per 1,000 tokens in and 1.5 out.
    assert totals["models"] == [{"provider": "scripted", "model": "gpt-fast", "calls": 1, "tokensIn": 2000,
                                 "tokensOut": 1000, "cost": 2.5}]
