"""Room to work (issue 20): at 1440×900 every panel is docked beside or under the canvas, never
over the flow (static/editor/layout.js, docs/editor.md "Layout"). Asserted with what is on
screen: bounding boxes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .editor_page import EditorPage, center
from .test_editor_interactions import nodes_of
from flows import services

pytestmark = pytest.mark.browser

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.bot.json"
WINDOW = {"width": 1440, "height": 900}


def intersects(a: dict, b: dict, slack: float = 0.5) -> bool:
    return (a["x"] < b["x"] + b["width"] - slack and b["x"] < a["x"] + a["width"] - slack
            and a["y"] < b["y"] + b["height"] - slack and b["y"] < a["y"] + a["height"] - slack)


def inside(inner: dict, outer: dict, slack: float = 1) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def demo(owner):
    return services.import_bot(json.loads(DEMO.read_text()), workspace=owner.workspace, user=owner)


@pytest.fixture
def editor(new_context, login, studio_url, owner, demo):
    page = new_context(viewport=WINDOW).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    yield EditorPage(page).open(studio_url, demo)
    assert errors == [], f"JavaScript errors on the page: {errors}"


def settled(ed: EditorPage) -> dict:
    """The canvas's box once X6 has followed a panel change (it resizes itself a frame later)."""
    ed.page.wait_for_function("""() => {
        const c = document.querySelector('#fs-canvas').getBoundingClientRect();
        const w = document.querySelector('.fs-canvas-wrap').getBoundingClientRect();
        return Math.abs(c.width - w.width) < 1 && Math.abs(c.height - w.height) < 1; }""")
    return ed.canvas.bounding_box()


def node_boxes(ed: EditorPage) -> dict[str, dict]:
    nodes = ed.canvas.locator(".fs-node")
    return {nodes.nth(i).get_attribute("data-node"): nodes.nth(i).bounding_box() for i in range(nodes.count())}


def fit(ed: EditorPage) -> dict[str, dict]:
    settled(ed)
    ed.page.locator("#fs-zoom-fit").click()
    # X6 draws only what is in view: the nodes brought into view come a moment later.
    expect(ed.canvas.locator(".fs-node")).to_have_count(8)
    boxes = node_boxes(ed)
    assert len(boxes) == 8, boxes.keys()
    return boxes


def assert_nothing_covers(ed: EditorPage, boxes: dict[str, dict], covering: list[str]) -> None:
    canvas = settled(ed)
    for node, box in boxes.items():
        assert inside(box, canvas), f"{node} is outside the canvas after Fit: {box} vs {canvas}"
        for selector in covering:
            other = ed.page.locator(selector)
            if not other.is_visible():
                continue
            assert not intersects(box, other.bounding_box()), f"{selector} covers {node} after Fit"


def test_the_tray_is_docked_and_fit_leaves_the_flow_uncovered(editor):
    ed = editor
    page = ed.page
    tray, canvas = page.locator("#fs-tray"), ed.canvas
    expect(tray.locator(".fs-tray-item").first).to_be_visible()
    # Docked: beside the canvas, not over it.
    box = settled(ed)
    assert not intersects(tray.bounding_box(), box)
    assert tray.bounding_box()["x"] >= box["x"] + box["width"] - 1

    # The demo bot's nodes do not overlap one another (Start used to sit on Greet).
    boxes = node_boxes(ed)
    for a in boxes:
        for b in boxes:
            if a < b:
                assert not intersects(boxes[a], boxes[b]), f"{a} overlaps {b}"

    floating = ["#fs-tray", ".fs-minimap", "#fs-emu-toggle", ".fs-canvas-tools", ".fs-right", "#fs-problems"]
    assert_nothing_covers(ed, fit(ed), floating)
    ed.screenshot("editor-layout-fit.png")

    # With the emulator and the debugger open, Fit still leaves the whole flow in view.
    page.keyboard.press("Control+e")
    expect(page.locator("#fs-emulator")).to_be_visible()
    page.locator("#fs-emu-input").press("Control+j")
    expect(page.locator("#fs-debugger")).to_be_visible()
    assert_nothing_covers(ed, fit(ed), floating + ["#fs-emulator", "#fs-debugger"])
    ed.screenshot("editor-layout-emulator-debugger.png")
    page.emulate_media(color_scheme="dark")
    ed.screenshot("editor-layout-emulator-debugger-dark.png")


def test_the_emulator_and_the_debugger_dock_and_leave_the_canvas_its_share(editor):
    ed = editor
    page = ed.page
    explorer, tray = page.locator(".fs-left"), page.locator("#fs-tray .fs-tray-search")
    expect(explorer).to_be_visible()
    expect(tray).to_be_visible()
    page.locator("#fs-emu-toggle").click()
    emulator = page.locator("#fs-emulator")
    expect(emulator).to_be_visible()
    canvas = settled(ed)
    assert canvas["width"] >= 0.6 * WINDOW["width"], canvas
    assert not intersects(emulator.bounding_box(), canvas)
    # The inspector stays, above the emulator in the right dock.
    inspector = page.locator("#fs-inspector")
    expect(inspector).to_be_visible()
    assert inspector.bounding_box()["y"] + inspector.bounding_box()["height"] <= emulator.bounding_box()["y"] + 1

    # The debugger drawer sits under the canvas, which gets shorter rather than covered.
    height_before = canvas["height"]
    page.keyboard.press("Control+j")
    debugger = page.locator("#fs-debugger")
    expect(debugger).to_be_visible()
    canvas = settled(ed)
    assert not intersects(debugger.bounding_box(), canvas)
    assert canvas["height"] < height_before
    assert canvas["height"] >= 250, "the canvas keeps room under the debugger"
    assert canvas["width"] >= 0.6 * WINDOW["width"]

    # Closing the emulator gives back what it folded.
    page.keyboard.press("Control+j")
    page.keyboard.press("Control+e")
    expect(emulator).to_be_hidden()
    expect(explorer).to_be_visible()
    expect(tray).to_be_visible()


def drag_splitter(ed: EditorPage, name: str, dx: float = 0, dy: float = 0) -> None:
    handle = ed.page.locator(f'.fs-splitter[data-splitter="{name}"]')
    expect(handle).to_be_visible()
    x, y = center(handle.bounding_box())
    ed.drag((x, y), (x + dx, y + dy), steps=8)


def test_panel_sizes_and_the_folded_tray_survive_a_reload(editor, studio_url, demo):
    ed = editor
    page = ed.page
    left, right, problems = page.locator(".fs-left"), page.locator(".fs-right"), page.locator("#fs-problems")
    widths = {"left": left.bounding_box()["width"], "right": right.bounding_box()["width"]}
    height = problems.bounding_box()["height"]
    drag_splitter(ed, "left", dx=80)
    drag_splitter(ed, "right", dx=-60)
    drag_splitter(ed, "bottom", dy=-50)
    assert abs(left.bounding_box()["width"] - (widths["left"] + 80)) <= 4
    assert abs(right.bounding_box()["width"] - (widths["right"] + 60)) <= 4
    assert abs(problems.bounding_box()["height"] - (height + 50)) <= 4
    page.get_by_role("button", name="Fold the card tray").click()
    strip = page.get_by_role("button", name="Show the card tray")
    expect(strip).to_be_visible()
    assert page.locator("#fs-tray").bounding_box()["width"] <= 40
    # The keyboard resizes too: a focused splitter takes the arrows.
    handle = page.locator('.fs-splitter[data-splitter="left"]')
    handle.focus()
    width = left.bounding_box()["width"]
    page.keyboard.press("ArrowRight")
    assert abs(left.bounding_box()["width"] - (width + 16)) <= 1
    page.keyboard.press("ArrowLeft")
    resized = {"left": left.bounding_box()["width"], "right": right.bounding_box()["width"], "bottom": problems.bounding_box()["height"]}

    ed.open(studio_url, demo)
    expect(strip).to_be_visible()
    assert abs(left.bounding_box()["width"] - resized["left"]) <= 1
    assert abs(right.bounding_box()["width"] - resized["right"]) <= 1
    assert abs(problems.bounding_box()["height"] - resized["bottom"]) <= 1

    # The emulator's own height in the dock is remembered too.
    page.keyboard.press("Control+e")
    emulator = page.locator("#fs-emulator")
    expect(emulator).to_be_visible()
    emulator_height = emulator.bounding_box()["height"]
    page.locator("#fs-emu-input").blur()
    drag_splitter(ed, "emulator", dy=-70)
    assert abs(emulator.bounding_box()["height"] - (emulator_height + 70)) <= 4
    emulator_height = emulator.bounding_box()["height"]
    ed.open(studio_url, demo)
    expect(emulator).to_be_visible()  # the emulator reopens as it was left
    assert abs(emulator.bounding_box()["height"] - emulator_height) <= 1
    # The tray, folded by the builder, stays folded after the emulator closes.
    page.keyboard.press("Control+e")
    expect(emulator).to_be_hidden()
    expect(strip).to_be_visible()
    strip.click()
    expect(page.locator("#fs-tray .fs-tray-search")).to_be_visible()


def test_small_geometry_pill_toasts_minimap_and_edges(editor):
    ed = editor
    page = ed.page
    pill = page.locator("#fs-emu-toggle")
    expect(pill).to_be_visible()
    # The pill is on the canvas, clear of the inspector's fields and of the tray.
    ed.select_node("greet")
    expect(page.locator("#fs-inspector input, #fs-inspector textarea").first).to_be_visible()
    assert not intersects(pill.bounding_box(), page.locator(".fs-right").bounding_box())
    assert not intersects(pill.bounding_box(), page.locator("#fs-tray").bounding_box())
    assert inside(pill.bounding_box(), settled(ed))

    # A toast (Copied) does not cover the pill.
    page.locator("#fs-canvas").click(position={"x": 5, "y": 300})
    ed.select_node("greet")
    page.keyboard.press("Control+c")
    toast = page.locator(".fs-toast", has_text="Copied")
    expect(toast).to_be_visible()
    assert not intersects(toast.bounding_box(), pill.bounding_box())

    # The minimap's viewport rectangle stays inside its frame, zoomed out, in and panned away.
    frame = page.locator("#fs-minimap")
    viewport = frame.locator(".x6-widget-minimap-viewport")
    for _ in range(6):
        page.locator("#fs-zoom-out").click()
    assert inside(viewport.bounding_box(), frame.bounding_box()), (viewport.bounding_box(), frame.bounding_box())
    page.locator("#fs-zoom-fit").click()
    for _ in range(8):
        page.locator("#fs-zoom-in").click()
    assert inside(viewport.bounding_box(), frame.bounding_box()), (viewport.bounding_box(), frame.bounding_box())
    page.evaluate("window.flowEditor.canvas.graph.translate(-6000, 4000)")
    page.wait_for_timeout(50)
    assert inside(viewport.bounding_box(), frame.bounding_box()), (viewport.bounding_box(), frame.bounding_box())

    # Transitions leave their port and reach their target sideways, not along a node's border.
    page.locator("#fs-zoom-fit").click()
    page.wait_for_timeout(100)
    ends = page.evaluate("""() => [...document.querySelectorAll('#fs-canvas g.x6-edge')].map((g) => {
        const path = g.querySelector('path'); const m = path.getScreenCTM(); const n = path.getTotalLength();
        const at = (l) => { const p = path.getPointAtLength(l); return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f]; };
        return { id: g.dataset.cellId, start: at(0), out: at(Math.min(14, n / 3)), end: at(n), into: at(Math.max(0, n - 14)) };
    })""")
    assert len(ends) >= 7, ends
    for edge in ends:
        (sx, sy), (ox, oy) = edge["start"], edge["out"]
        assert ox - sx > abs(oy - sy), f"{edge['id']} leaves its port along the node's border"
        (ex, ey), (ix, iy) = edge["end"], edge["into"]
        assert ex - ix > abs(ey - iy) * 0.5, f"{edge['id']} reaches its target along the node's border"


def test_the_tray_popover_from_add_and_from_a_transition_dropped_on_empty_canvas(editor, demo):
    ed = editor
    page = ed.page
    before = set(node_boxes(ed))
    page.get_by_role("button", name="Add a card or node").click()
    popover = page.get_by_role("dialog", name="Add a card")
    expect(popover).to_be_visible()
    search = popover.get_by_role("searchbox", name="Search cards and nodes")
    expect(search).to_be_focused()
    search.fill("text")
    expect(popover.locator(".fs-tray-item.active")).to_contain_text("Text")
    ed.screenshot("editor-layout-tray-popover.png")
    search.press("Enter")
    expect(popover).to_be_hidden()
    expect(ed.canvas.locator(".fs-node")).to_have_count(len(before) + 1)
    new = ed.canvas.locator(".fs-node.selected").get_attribute("data-node")
    assert new not in before
    expect(ed.card(new, "text")).to_be_visible()

    # A transition from the new node's port let go on empty canvas: the popover makes its target.
    port = ed.port(new, "next")
    canvas = ed.canvas.bounding_box()
    blank = (canvas["x"] + canvas["width"] - 40, canvas["y"] + 70)
    ed.drag(center(port.bounding_box()), blank)
    expect(popover).to_be_visible()
    box = popover.bounding_box()
    assert abs(box["x"] - blank[0]) < 300 and abs(box["y"] - blank[1]) < 300, "the popover opens where the transition was let go"
    popover.locator(".fs-tray-item", has_text="Standard node").click()
    expect(popover).to_be_hidden()
    target = ed.canvas.locator(".fs-node.selected").get_attribute("data-node")
    assert target not in (new, *before)
    page.wait_for_function(f"window.flowEditor.store.node({new!r}).next === {target!r}")
    ed.saved()
    saved = nodes_of(demo)
    assert saved[new]["next"] == target and saved[new]["cards"][0]["type"] == "text"
