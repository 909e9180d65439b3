"""A generated 300-node flow opens and is interactive fast (issue 5): at most 4x the time the
same editor takes for a 3-node flow, measured alternately in the same test, so a slower or
busier machine does not fail it (the 1.5 s target is an absolute time, reported by
bench/editor.py, which measures the same thing with more runs)."""
import importlib.util
import statistics
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from flows import services

pytestmark = pytest.mark.browser

MAX_RATIO = 4
_spec = importlib.util.spec_from_file_location("bench_editor", Path(__file__).resolve().parents[2] / "bench" / "editor.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _open_and_click(new_context, login, owner, studio_url, bot, *, last: bool) -> float:
    context = new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    page.goto(f"{studio_url}/bots/{bot.pk}/editor/", wait_until="commit")
    page.wait_for_function("performance.getEntriesByName('fs-editor-ready').length > 0", timeout=30_000)
    ready = page.evaluate("performance.getEntriesByName('fs-editor-ready')[0].startTime")
    head = page.locator('#fs-canvas .fs-node[data-node="n1"] .fs-node-head').bounding_box()
    before = page.evaluate("performance.now()")
    page.mouse.click(head["x"] + head["width"] / 2, head["y"] + head["height"] / 2)
    page.wait_for_function("document.querySelector('#fs-inspector h2')?.textContent === 'Step 1'")
    click = page.evaluate("performance.now()") - before
    assert errors == []
    if last:
        # Everything is drawn shortly after, and a node far away can be reached.
        expect(page.locator("#fs-problems-badge")).to_have_text("No problems", timeout=10_000)
        ed = EditorPage(page)
        page.keyboard.press("ControlOrMeta+f")
        page.keyboard.type("Step 287")
        page.keyboard.press("Enter")
        expect(ed.node("n287")).to_be_visible()
        expect(page.locator("#fs-inspector h2")).to_have_text("Step 287")
        assert page.evaluate("window.flowEditor.canvas.graph.getNodes().length") == 302
    context.close()
    return ready + click


def test_a_300_node_flow_opens_and_is_interactive_fast(new_context, login, make_user, studio_url):
    owner = make_user()
    big = services.import_bot(bench.generate_bot(300), workspace=owner.workspace, user=owner)
    small = services.import_bot(bench.generate_bot(3), workspace=owner.workspace, user=owner)
    big_ms, small_ms = [], []
    for run in range(4):  # the first load of each warms the server and the browser cache
        small_total = _open_and_click(new_context, login, owner, studio_url, small, last=False)
        big_total = _open_and_click(new_context, login, owner, studio_url, big, last=run == 3)
        if run:
            small_ms.append(small_total)
            big_ms.append(big_total)
    ratio = statistics.median(big_ms) / statistics.median(small_ms)
    assert ratio <= MAX_RATIO, f"the 300-node flow took {big_ms} ms, the 3-node flow {small_ms} ms"
