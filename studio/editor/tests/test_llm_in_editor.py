"""The editor and LLM providers: the page hands the AI cards' model picker the workspace's
providers and models; a bot with AI cards in a workspace without a provider (or naming one
it lacks) shows an error in the problems panel, and publishing it is refused, from the
editor, the REST API and the command line."""
import copy
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from flows import services
from flows.models import BotVersion
from integrations.llm.services import save_provider
from studio.people import tokens
from studio.people.models import Membership, Role, Workspace

pytestmark = pytest.mark.django_db

AI_BOT = {
    "format": "flowstudio.bot/1", "name": "Asker",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "talk"},
        {"id": "talk", "kind": "standard", "cards": [
            {"id": "hello", "type": "text", "text": "Ask me"},
            {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}"},
            {"id": "again", "type": "wait"}], "next": "talk"},
    ]}],
}


@pytest.fixture
def owner(django_user_model):
    user = django_user_model.objects.create_user("owner", "owner@example.com")
    workspace = Workspace.objects.create(name="Acme", slug="acme", created_by=user)
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def bot(owner):
    return services.import_bot(copy.deepcopy(AI_BOT), workspace=Workspace.objects.get(slug="acme"), user=owner)


def problems(client, bot):
    return client.get(reverse("editor:problems", kwargs={"bot_id": bot.pk})).json()["problems"]


def publish(client, bot):
    bot.refresh_from_db()
    return client.post(reverse("editor:publish", kwargs={"bot_id": bot.pk}),
                       data=json.dumps({"baseRevision": bot.draft_revision}), content_type="application/json")


def add(bot, name, **extra):
    return save_provider(bot.workspace, {"name": name, "base_url": f"https://{name}.example.com/v1", **extra})


def test_no_provider_is_an_error_on_the_ai_card_and_blocks_publishing(client, owner, bot):
    client.force_login(owner)
    errors = [p for p in problems(client, bot) if p["severity"] == "error"]
    assert len(errors) == 1
    assert errors[0]["path"] == "$.flows[0].nodes[1].cards[1]"
    assert errors[0]["location"]["card"] == "answer"
    assert "needs an LLM provider" in errors[0]["message"] and "'Acme' has none" in errors[0]["message"]

    refused = publish(client, bot)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "draft_has_errors"
    assert refused.json()["error"]["details"][0]["location"]["card"] == "answer"

    raw = tokens.create_token(owner, "t")[1]
    api = client.post(f"/api/v1/bots/{bot.pk}/versions", data=json.dumps({"note": "x"}),
                      content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.status_code == 400
    assert api.json()["error"]["details"][0]["path"] == "$.flows[0].nodes[1].cards[1]"
    assert not BotVersion.objects.filter(bot=bot).exists()

    add(bot, "acme")
    assert not [p for p in problems(client, bot) if p["severity"] == "error"]
    assert publish(client, bot).status_code == 201


def test_a_bot_provider_the_workspace_lacks_is_an_error(client, owner, bot):
    add(bot, "acme")
    services.replace_draft(bot, {**copy.deepcopy(AI_BOT), "settings": {"llm": {"provider": "gone"}}},
                           base_revision=None)
    client.force_login(owner)
    errors = [p for p in problems(client, bot) if p["severity"] == "error"]
    assert [(e["path"], e["message"]) for e in errors] == [
        ("$.settings.llm.provider", "the workspace has no LLM provider named 'gone'; it has acme")]
    assert publish(client, bot).status_code == 400


def test_a_bot_without_ai_cards_needs_no_provider(client, owner):
    plain = copy.deepcopy(AI_BOT)
    plain["flows"][0]["nodes"][1]["cards"].pop(1)
    bot = services.import_bot(plain, workspace=Workspace.objects.get(slug="acme"), user=owner)
    client.force_login(owner)
    assert not [p for p in problems(client, bot) if p["severity"] == "error"]
    assert publish(client, bot).status_code == 201


def test_the_page_hands_the_picker_every_providers_models(client, owner, bot):
    add(bot, "acme", models=[{"id": "acme-fast", "label": "Fast"}, {"id": "acme-best", "label": "Best"}],
        default_model="Best", is_default=True, api_key="sk-never-on-the-page")
    add(bot, "local", default_model="llama3")
    client.force_login(owner)
    page = client.get(reverse("editor:edit", kwargs={"bot_id": bot.pk})).content.decode()
    assert "sk-never-on-the-page" not in page
    start = page.index('id="fs-boot"')
    boot = json.loads(page[page.index(">", start) + 1:page.index("</script>", start)])
    assert boot["llm"] == {"workspaceDefault": "acme", "providers": [
        {"name": "acme", "models": [{"id": "acme-fast", "label": "Fast", "default": False},
                                    {"id": "acme-best", "label": "Best", "default": True}]},
        {"name": "local", "models": [{"id": "llama3", "label": "", "default": True}]},
    ]}


def test_the_command_line_refuses_to_publish_without_a_provider(bot):
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"cannot publish 'Asker': 1 problem$"):
        call_command("bot", "publish", str(bot.pk), stderr=err, stdout=io.StringIO())
    assert "needs an LLM provider" in err.getvalue() and "$.flows[0].nodes[1].cards[1]" in err.getvalue()
    assert not BotVersion.objects.filter(bot=bot).exists()
    add(bot, "acme")
    out = io.StringIO()
    call_command("bot", "publish", str(bot.pk), stdout=out)
    assert out.getvalue() == "published version 1\n"
