"""Driving the flow editor like a person: real mouse drags, clicks and typing.

Nothing here builds the bot through JavaScript: nodes come from the canvas's context menu,
cards are dragged from the tray, transitions are dragged from ports, text is typed. Reading
what is on screen (a card's id from its row, to find its port) is fine.
"""
from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

VIEWPORT = {"width": 1600, "height": 1000}
# Screenshots are CI artefacts, never committed (var/ is ignored).
ARTIFACTS = Path(os.environ.get("FLOWSTUDIO_ARTIFACTS", Path(__file__).resolve().parents[2] / "var" / "artifacts"))


def center(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


class EditorPage:
    def __init__(self, page: Page):
        self.page = page
        self.mouse = page.mouse

    def open(self, base_url: str, bot) -> "EditorPage":
        self.page.goto(f"{base_url}/bots/{bot.pk}/editor/")
        self.page.wait_for_selector("body[data-editor-ready=true]", state="attached")
        return self

    # ---- finding things ----------------------------------------------------------------
    @property
    def canvas(self) -> Locator:
        return self.page.locator("#fs-canvas")

    def node(self, node_id: str) -> Locator:
        return self.page.locator(f'#fs-canvas .fs-node[data-node="{node_id}"]')

    def cards(self, node_id: str) -> Locator:
        return self.node(node_id).locator(".fs-card")

    def card(self, node_id: str, card_type: str, nth: int = 0) -> Locator:
        return self.node(node_id).locator(f".fs-card.type-{card_type}").nth(nth)

    def port(self, node_id: str, port: str) -> Locator:
        return self.page.locator(f'#fs-canvas g[data-cell-id="{node_id}"] circle[port="{port}"]')

    def card_port(self, node_id: str, card_type: str, field: str = "next", nth: int = 0) -> Locator:
        card_id = self.card(node_id, card_type, nth).get_attribute("data-card")
        return self.port(node_id, f"{card_id}:{field}")

    def field(self, name: str) -> Locator:
        return self.page.locator(f'#fs-inspector [data-field="{name}"]')

    def edge_point(self, edge_id: str) -> tuple[float, float]:
        """The on-screen middle of a drawn transition (read from its SVG path)."""
        return tuple(self.page.locator(f'#fs-canvas g[data-cell-id="{edge_id}"] path').first.evaluate(
            """path => { const p = path.getPointAtLength(path.getTotalLength() / 2);
                         const m = path.getScreenCTM();
                         return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f]; }"""))

    def canvas_point(self, x: float, y: float) -> tuple[float, float]:
        box = self.canvas.bounding_box()
        return box["x"] + x, box["y"] + y

    # ---- gestures ------------------------------------------------------------------------
    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 14) -> None:
        self.mouse.move(*start)
        self.mouse.down()
        self.mouse.move(start[0] + 6, start[1] + 4, steps=2)
        self.mouse.move(*end, steps=steps)
        self.mouse.up()

    def drag_locator(self, source: Locator, target: Locator) -> None:
        self.drag(center(source.bounding_box()), center(target.bounding_box()))

    def add_node(self, x: float, y: float, kind: str = "Standard node") -> str:
        """Right-click the canvas at (x, y) and pick a node kind; returns the new node's id
        (a new node comes selected)."""
        self.mouse.click(*self.canvas_point(x, y), button="right")
        self.page.get_by_role("menuitem", name=kind).click()
        selected = self.canvas.locator(".fs-node.selected")
        expect(selected).to_have_count(1)
        return selected.get_attribute("data-node")

    def drop_card(self, tray_title: str, node_id: str) -> Locator:
        """Drag a card from the tray to the end of a node's card list; returns the new row."""
        count = self.cards(node_id).count()
        item = self.page.locator(".fs-tray-item", has_text=tray_title).first
        item.scroll_into_view_if_needed()
        box = self.node(node_id).locator(".fs-cards").bounding_box()
        self.drag(center(item.bounding_box()), (box["x"] + box["width"] / 2, box["y"] + box["height"] - 4))
        expect(self.cards(node_id)).to_have_count(count + 1)
        return self.cards(node_id).nth(count)

    def connect(self, port: Locator, target_node: str) -> None:
        head = self.node(target_node).locator(".fs-node-head")
        self.drag(center(port.bounding_box()), center(head.bounding_box()))

    def select_node(self, node_id: str) -> None:
        self.node(node_id).locator(".fs-node-head").click()

    def type_into(self, target: Locator, text: str) -> None:
        target.click()
        self.page.keyboard.press("ControlOrMeta+A")
        self.page.keyboard.type(text)
        self.page.keyboard.press("Escape")  # closes a completion list if one is open

    def submit_dialog(self, **values: str) -> Locator:
        """Fill the open dialog's fields by name and press its submit button; returns the
        dialog (still open when the form refused what was typed)."""
        dialog = self.page.locator("dialog[open]")
        for name, value in values.items():
            dialog.locator(f"[name={name}]").fill(value)
        dialog.locator("button[type=submit]").click()
        return dialog

    def open_flow(self, name: str) -> None:
        self.page.locator(f'#fs-explorer [data-flow="{name}"]').click()
        expect(self.page.locator("#fs-flow-name")).to_have_text(name)

    def saved(self, timeout: float = 10_000) -> None:
        expect(self.page.locator("#fs-save-state")).to_have_text("All changes saved", timeout=timeout)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path
