"""Bots and host pages shared by the webchat browser tests."""
import copy
import json
from pathlib import Path

from flows import services as flow_services
from integrations.webchat import services as webchat

DEMO = Path(__file__).resolve().parents[3] / "examples" / "webchat-demo.bot.json"
EVENTS = ["webchat:initialized", "webchat:ready", "webchat:opened", "webchat:closed", "message",
          "messageSent", "customEvent", "conversation", "error", "workflow"]


def publish_bot(definition: dict, **settings):
    bot = flow_services.import_bot(copy.deepcopy(definition), workspace=flow_services.default_workspace())
    flow_services.publish(bot)
    if settings:
        webchat.update_settings(bot, settings)
    return bot


def demo_bot(**settings):
    return publish_bot(json.loads(DEMO.read_text()), **settings)


def host_page(studio: str, bot, *, settings: dict | None = None, body: str = "") -> str:
    """A customer's page: the two-script embed, with every widget event recorded in
    window.__events (listeners registered before config.js runs init)."""
    before = f"<script>window.botpressSettings = {json.dumps(settings)};</script>" if settings else ""
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Host shop</title>
<style>
  /* The host's CSS must not leak into the widget. */
  body {{ font-family: "Comic Sans MS", cursive; color: rgb(255, 0, 0); }}
  button {{ background: rgb(255, 255, 0) !important; }}
  div {{ border: 3px dotted rgb(0, 255, 0); }}
</style></head>
<body>
<h1>My shop</h1>
{body}
{before}
<script src="{studio}/webchat/inject.js"></script>
<script>
  window.__events = [];
  {json.dumps(EVENTS)}.forEach(function (name) {{
    window.botpress.on(name, function (data) {{ window.__events.push({{name: name, data: data}}); }});
  }});
</script>
<script src="{studio}/webchat/{bot.pk}/config.js" defer></script>
</body></html>"""


def widget(page):
    """Locators inside the widget's shadow root (Playwright's CSS engine pierces it)."""
    return page.locator("#bp-web-widget-container")


def events(page, name=None):
    found = page.evaluate("window.__events")
    return [e for e in found if name is None or e["name"] == name]


def bot_bubbles(page):
    return page.locator(".bpMessageFromBot .bpMessageBlocksBubble")


def user_bubbles(page):
    return page.locator(".bpMessageFromUser .bpMessageBlocksBubble")
