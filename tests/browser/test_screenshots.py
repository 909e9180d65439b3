"""Screenshots for a reviewer (issue 20): the editor on the demo bot, the editor with the
emulator open, the webchat widget and the bot's Webchat settings page, at 1440x900, in light
and in dark. Saved under tests/browser/artifacts/ (git-ignored); each test also checks that
the page really is in the theme asked for (computed background colours), so a screenshot
named "dark" is never a light page."""
import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from flows import services as flow_services
from integrations.webchat import services as webchat
from runtime.models import Event

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
VIEWPORT = {"width": 1440, "height": 900}
THEMES = ["light", "dark"]


def luminance(rgb: str) -> float:
    """Relative luminance (0 black .. 1 white) of a computed `rgb(r, g, b)` colour."""
    r, g, b = (int(part) / 255 for part in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def background(locator) -> str:
    """The colour the element is seen on: its own background or the nearest painted ancestor's."""
    return locator.evaluate("""e => {
      for (let node = e; node; node = node.parentElement) {
        const colour = getComputedStyle(node).backgroundColor;
        if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') return colour;
      }
      return 'rgb(255, 255, 255)';
    }""")


def assert_theme(locator, theme: str) -> None:
    colour = background(locator)
    assert (luminance(colour) > 0.8) if theme == "light" else (luminance(colour) < 0.2), \
        f"{theme} asked for, background {colour}"


def turns_done(bot) -> None:
    """Wait until the server has no turn of the bot left to run: the test's end flushes the
    tables, which must not race a turn still writing."""
    deadline = time.monotonic() + 15
    events = Event.objects.filter(conversation__bot=bot)
    while not events.exists() or events.filter(status=Event.Status.RECEIVED).exists():
        assert time.monotonic() < deadline, "the bot's turns did not finish"
        time.sleep(0.1)


def save(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000, f"{name} looks empty"
    return path


@pytest.fixture
def themed_page(new_context, login, make_user, request):
    """A signed-in owner's page at 1440x900 with the studio's theme forced (the toggle's
    choice) and the system asking for the same."""
    theme = request.param
    owner = make_user()
    context = new_context(viewport=VIEWPORT, color_scheme=theme)
    context.add_init_script(f"localStorage.setItem('flowstudio.theme', '{theme}')")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    page.owner, page.theme = owner, theme
    yield page
    assert errors == [], f"JavaScript errors on the page: {errors}"


def example(name: str, workspace, publish: bool = False):
    bot = flow_services.import_bot(json.loads((EXAMPLES / name).read_text()), workspace=workspace)
    if publish:
        flow_services.publish(bot)
    return bot


@pytest.mark.parametrize("themed_page", THEMES, indirect=True)
def test_the_editor_and_the_emulator(themed_page):
    page, theme = themed_page, themed_page.theme
    bot = example("demo.bot.json", page.owner.workspace)
    page.goto(f"/bots/{bot.pk}/editor/")
    expect(page.locator("body[data-editor-ready=true]")).to_be_attached()
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    expect(page.locator('#fs-canvas .fs-node[data-node="greet"]')).to_be_visible()
    assert_theme(page.locator("body.fs-editor-page"), theme)
    assert_theme(page.locator("#fs-canvas"), theme)
    assert save(page, f"editor-{theme}.png").exists()

    page.keyboard.press("Control+e")
    emulator = page.locator("#fs-emulator")
    expect(emulator).to_be_visible()
    box = page.get_by_label("Message to the bot")
    box.fill("hi")
    box.press("Enter")
    expect(page.locator("#fs-emu-log .fs-emu-msg.bot").first).to_be_visible()
    assert_theme(emulator, theme)
    assert save(page, f"emulator-{theme}.png").exists()
    turns_done(bot)


@pytest.mark.parametrize("themed_page", THEMES, indirect=True)
def test_the_webchat_widget(themed_page, studio_url):
    page, theme = themed_page, themed_page.theme
    bot = example("webchat-demo.bot.json", page.owner.workspace, publish=True)
    # The widget's theme is the bot's Webchat setting; the customer's page around it matches.
    webchat.update_settings(bot, {"theme": theme})
    host_bg = "#ffffff" if theme == "light" else "#15171a"
    # A customer's page with the embed snippet, made up by the browser itself (page.route) at an
    # address of the studio's origin: Chromium's private-network rule refuses a made-up public
    # origin the studio's loopback scripts.
    host = f"{studio_url}/shop-page-for-screenshots.html"
    page.route(host, lambda route: route.fulfill(content_type="text/html", body=f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Shop</title></head>
<body style="margin:0;background:{host_bg};font-family:system-ui"><h1 style="margin:24px;color:#888">My shop</h1>
<script src="{studio_url}/webchat/inject.js"></script>
<script src="{studio_url}/webchat/{bot.pk}/config.js" defer></script></body></html>"""))
    page.goto(host)
    page.locator(".bpFab").click()
    window = page.locator(".bpWebchat")
    expect(window).to_be_visible()
    expect(page.locator(".bpMessageFromBot .bpMessageBlocksBubble").first).to_have_text(
        "Hi! I'm the Flowstudio webchat demo.")
    expect(page.locator(".bpRoot")).to_have_attribute("data-theme", theme)
    assert_theme(window, theme)
    assert_theme(page.locator(".bpComposerInput"), theme)
    assert save(page, f"webchat-widget-{theme}.png").exists()
    turns_done(bot)


@pytest.mark.parametrize("themed_page", THEMES, indirect=True)
def test_the_webchat_settings_page(themed_page):
    page, theme = themed_page, themed_page.theme
    bot = example("demo.bot.json", page.owner.workspace, publish=True)  # it does not greet on open
    page.goto(f"/bots/{bot.pk}/webchat/")
    expect(page.frame_locator("#webchat-preview").locator(".bpEmptyState")).to_be_visible()
    assert_theme(page.locator("body"), theme)
    assert_theme(page.locator("section.card#general"), theme)
    assert save(page, f"webchat-settings-{theme}.png").exists()
    turns_done(bot)
