"""How fast the flow editor opens a big flow, and how smoothly a node drags on it: a generated
300-node flow in headless Chromium.

Measures, per page load:
  - ready: from navigation start until the canvas has drawn every node (X6 `render:done`)
    and the panels are filled (the editor's `fs-editor-ready` mark);
  - first click: from a click on a node until the inspector shows it;
  - total = ready + first click: "opens and is interactive";
  - drag: frames per second while a node is dragged (page.mouse down, moves for
    DRAG_SECONDS to the right and back, up), counted in the page with requestAnimationFrame
    over the drag; also the longest gap between two frames.
Judged against a floor measured in the same run, alternating page loads: the same editor
opening a 3-node flow, so what is judged is what the big flow adds. `--check` exits 1 when
the median total is over CHECK_MAX_RATIO times the floor's, or the median drag fps is under
CHECK_MIN_FPS_RATIO times the floor's. The absolute targets (issue 5: open under 1.5 s;
issue 20: interactive under 1 s, a drag above 50 fps) are printed, not judged.

Self-contained: a throw-away SQLite database, a Daphne server on a free port, Debian's
Chromium. Nothing is left running.

    python bench/editor.py            # 5 loads, 300 nodes
    python bench/editor.py --check    # what CI would run
    python bench/editor.py --nodes 600 --runs 3
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 1500  # reported, not judged (an absolute time)
TARGET_INTERACTIVE_MS = 1000  # issue 20's goal for the total, reported, not judged
TARGET_DRAG_FPS = 50  # reported, not judged (an absolute figure)
FLOOR_NODES = 3
# CI bars (--check): the big flow's median total as a multiple of the 3-node flow's, and its
# median drag frame rate as a fraction of the 3-node flow's.
CHECK_MAX_RATIO = 4.0
CHECK_MIN_FPS_RATIO = 0.8
DRAG_SECONDS = 1.0
DRAG_PX = 240  # how far right the node goes before it comes back where it was
CHROMIUM = "/usr/bin/chromium"


def generate_bot(nodes: int = 300) -> dict:
    """A valid bot whose main flow has `nodes` standard nodes in a grid, each with three
    cards (a text, a code card and an expression that jumps ahead), chained by `next`."""
    ids = [f"n{i}" for i in range(1, nodes + 1)]
    flow_nodes = [{"id": "start", "kind": "start", "next": ids[0]}]
    layout = {"start": [0, 0]}
    for i, node_id in enumerate(ids):
        after = ids[i + 1] if i + 1 < nodes else "end"
        # near the end the jump goes to the end node: the last node jumping to itself would be a
        # loop that never waits for the user (a type-flow warning), which a bench bot should not have
        jump = ids[i + 7] if i + 7 < nodes else "end"
        flow_nodes.append({"id": node_id, "kind": "standard", "name": f"Step {i + 1}", "cards": [
            {"id": f"{node_id}-say", "type": "text", "text": f"Step {i + 1}: {{{{event.preview}}}}"},
            {"id": f"{node_id}-count", "type": "code", "code": "workflow.count = (workflow.count || 0) + 1"},
            {"id": f"{node_id}-jump", "type": "expression", "condition": f"workflow.count > {i + 50}", "next": jump},
        ], "next": after})
        layout[node_id] = [320 * (1 + i % 20), 260 * (i // 20)]
    flow_nodes.append({"id": "end", "kind": "end"})
    layout["end"] = [0, 260 * (nodes // 20 + 1)]
    return {
        "format": "flowstudio.bot/1",
        "name": f"Bench {nodes} nodes",
        "flows": [{"name": "main", "variables": [{"name": "count", "type": "number", "default": 0}], "nodes": flow_nodes}],
        "layout": {"main": layout},
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(env: dict, nodes: int) -> tuple[str, str, str]:
    """Migrate the throw-away database, make a user, a workspace, the bot and the floor's small
    bot; (bot id, floor bot id, session key)."""
    script = f"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from studio.people.workspaces import create_workspace
from flows.services import import_bot
user = get_user_model().objects.create_user("bench", "bench@example.com")
workspace = create_workspace(user, "Bench")
import importlib.util
spec = importlib.util.spec_from_file_location("bench_editor", {str(Path(__file__).resolve())!r})
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
bot = import_bot(module.generate_bot({nodes}), workspace=workspace, user=user)
floor = import_bot(module.generate_bot({FLOOR_NODES}), workspace=workspace, user=user)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps({{"bot": str(bot.pk), "floor": str(floor.pk), "session": session.session_key}}))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["bot"], data["floor"], data["session"]


def _serve(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "studio.asgi:application"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/static/editor/editor.js", timeout=2)
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("the server did not start")
            time.sleep(0.2)


# Counts animation frames from now until window.__fsDragStop() returns their timestamps.
_FRAME_COUNTER = """() => {
  const frames = [];
  let stopped = false;
  const tick = (t) => { frames.push(t); if (!stopped) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  window.__fsDragStop = () => { stopped = true; return frames; };
}"""


def drag_node(page, head) -> dict:
    """Drag a node by its head to the right and back over DRAG_SECONDS, one pointer move per
    round trip to the page (as fast as the page takes them); frames per second and the longest
    frame gap, measured in the page over the drag."""
    box = head.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate(_FRAME_COUNTER)
    page.mouse.move(x, y)
    page.mouse.down()
    start = time.monotonic()
    moves, half, furthest = 0, DRAG_SECONDS / 2, None
    while (elapsed := time.monotonic() - start) < DRAG_SECONDS:
        if furthest is None and elapsed >= half:
            furthest = head.bounding_box()["x"] - box["x"]  # once, at the turn: the node follows
        offset = DRAG_PX * (elapsed / half if elapsed < half else (DRAG_SECONDS - elapsed) / half)
        page.mouse.move(x + offset, y + 0.1 * offset)
        moves += 1
    page.mouse.move(x + DRAG_PX / 2, y)  # away, so the drop below is a move too
    page.mouse.move(x, y)
    page.mouse.up()
    frames = page.evaluate("window.__fsDragStop()")
    gaps = [b - a for a, b in zip(frames, frames[1:])]
    span = frames[-1] - frames[0] if len(frames) > 1 else 0
    return {"drag_fps": round((len(frames) - 1) * 1000 / span, 1) if span else 0.0,
            "drag_longest_frame_ms": round(max(gaps), 1) if gaps else None, "drag_moves": moves,
            "drag_moved_px": round(furthest or 0)}


def measure(urls: list[str], session: str, runs: int) -> list[list[dict]]:
    """Page loads alternating over `urls`; one list of results per url."""
    from playwright.sync_api import sync_playwright

    results: list[list[dict]] = [[] for _ in urls]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        # The first load of each warms the server and the HTTP cache: not counted.
        for run, (index, url) in ((r, u) for r in range(runs + 1) for u in enumerate(urls)):
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            context.add_cookies([{"name": "sessionid", "value": session, "url": url}])
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url, wait_until="commit")
            page.wait_for_function("performance.getEntriesByName('fs-editor-ready').length > 0", timeout=30_000)
            ready = page.evaluate("performance.getEntriesByName('fs-editor-ready')[0].startTime")
            drawn = page.locator("#fs-canvas .fs-node").count()
            target = page.locator('#fs-canvas .fs-node[data-node="n1"] .fs-node-head')
            box = target.bounding_box()
            before = page.evaluate("performance.now()")
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_function("document.querySelector('#fs-inspector h2')?.textContent === 'Step 1'")
            click = page.evaluate("performance.now()") - before
            drag = drag_node(page, target)
            # The node followed the pointer (and came back, so every load sees the same flow).
            if drag["drag_moved_px"] < DRAG_PX / 3:
                raise SystemExit(f"the node did not follow the drag: {drag}")
            if errors:
                raise SystemExit(f"page errors: {errors}")
            if run:
                results[index].append({"ready_ms": round(ready), "click_ms": round(click), "total_ms": round(ready + click),
                                       "nodes_drawn": drawn, **drag})
            context.close()
        browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when the median total is over {CHECK_MAX_RATIO}x the {FLOOR_NODES}-node flow's")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(SQLITE_PATH=str(Path(tmp) / "bench.sqlite3"), DJANGO_SETTINGS_MODULE="studio.settings",
                   WHITENOISE_USE_FINDERS="true", DEBUG="false", FLOWSTUDIO_VAR_DIR=tmp, OPENBLAS_NUM_THREADS="1")
        bot_id, floor_id, session = _prepare(env, args.nodes)
        port = _free_port()
        server = _serve(env, port)
        try:
            results, floor = measure([f"http://127.0.0.1:{port}/bots/{bot_id}/editor/",
                                      f"http://127.0.0.1:{port}/bots/{floor_id}/editor/"], session, args.runs)
        finally:
            server.terminate()
            server.wait(timeout=10)
    keys = ("ready_ms", "click_ms", "total_ms", "drag_fps", "drag_longest_frame_ms")
    median = {key: statistics.median(r[key] for r in results) for key in keys}
    floor_median = {key: statistics.median(r[key] for r in floor) for key in keys}
    ratio = round(median["total_ms"] / floor_median["total_ms"], 2)
    fps_ratio = round(median["drag_fps"] / floor_median["drag_fps"], 2) if floor_median["drag_fps"] else 0.0
    print(json.dumps({"nodes": args.nodes, "runs": results, "median": median, "original_target_total_ms": TARGET_MS,
                      "target_interactive_ms": TARGET_INTERACTIVE_MS, "target_drag_fps": TARGET_DRAG_FPS,
                      "floor": {"nodes": FLOOR_NODES, "runs": floor, "median": floor_median},
                      "ratio_to_floor": ratio, "check_max_ratio": CHECK_MAX_RATIO,
                      "drag_fps_ratio_to_floor": fps_ratio, "check_min_fps_ratio": CHECK_MIN_FPS_RATIO}, indent=2))
    print(f"{args.nodes} nodes: interactive in {median['total_ms']:.0f} ms (target {TARGET_INTERACTIVE_MS} ms, "
          f"{ratio}x the floor's, bar {CHECK_MAX_RATIO}x); drag {median['drag_fps']:.1f} fps "
          f"(target {TARGET_DRAG_FPS}, {fps_ratio}x the floor's {floor_median['drag_fps']:.1f}, bar {CHECK_MIN_FPS_RATIO}x)")
    failed = False
    if args.check and ratio > CHECK_MAX_RATIO:
        print(f"median total {median['total_ms']} ms is {ratio}x the {FLOOR_NODES}-node flow's "
              f"({floor_median['total_ms']} ms), over {CHECK_MAX_RATIO}x", file=sys.stderr)
        failed = True
    if args.check and fps_ratio < CHECK_MIN_FPS_RATIO:
        print(f"median drag {median['drag_fps']} fps is {fps_ratio}x the {FLOOR_NODES}-node flow's "
              f"({floor_median['drag_fps']} fps), under {CHECK_MIN_FPS_RATIO}x", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
