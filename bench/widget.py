"""The webchat widget's weight and how fast its button appears (issue 7).

- Size: `static/webchat/workflow.js` + `inject.js` (what `/webchat/inject.js` serves)
  gzipped (level 9, what a server's gzip sends at most).
  Target: under 60 KB.
- First paint of the button: a blank host page loads `inject.js` and the bot's `config.js`
  (the two-script embed) from a local server; the time from the moment inject.js has
  finished loading (Resource Timing `responseEnd`) to the first paint of the page (Paint
  Timing `first-contentful-paint`, the button being the only thing on the page) in headless
  Chromium. The websocket has nowhere to connect here; connecting does not delay the button.
  Judged against the floor, measured in the same run, alternating page loads: the same
  two-script page where the scripts only put one styled button in a shadow root. The
  original absolute target (under 300 ms) is printed, not judged.

    python bench/widget.py           # 10 page loads of each, alternating
    python bench/widget.py --check   # exit 1 when the size or the paint ratio misses its bar
"""
from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDGET = ROOT / "static" / "webchat" / "inject.js"
# Served in front of inject.js in the same response (integrations/webchat/views.py).
WORKFLOW_VIEW = ROOT / "static" / "webchat" / "workflow.js"
CHROMIUM = "/usr/bin/chromium"
TARGET_GZIP_KB = 60
TARGET_PAINT_MS = 300  # reported, not judged (an absolute time)
# CI bar (--check): the widget's median first paint as a multiple of the floor page's, set from
# measurements on the 2-core machine quiet and with a neighbour keeping one core busy.
CHECK_MAX_PAINT_RATIO = 8.0
# The floor: what any embed must do at least, one button (with its icon, which makes the
# paint contentful) in a shadow root, as two scripts.
FLOOR_INJECT = b"""(function(){var host=document.createElement('div');host.id='bp-web-widget-container';
document.body.appendChild(host);var root=host.attachShadow({mode:'open'});
root.innerHTML='<style>.bpFab{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;'+
'background:#3276EA;border:0}.bpFab svg{width:28px;height:28px;fill:#fff}</style>'+
'<button class="bpFab" aria-label="Chat"><svg viewBox="0 0 24 24" aria-hidden="true">'+
'<path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg></button>';
window.botpress={init:function(){}};})();"""
BOT_ID = "00000000-0000-0000-0000-000000000000"
# What the studio's config.js holds for a bot with default settings.
CONFIGURATION = {
    "botName": "Bench bot", "botAvatar": "", "botDescription": "", "composerPlaceholder": "Type your message...",
    "color": "#3276EA", "themeMode": "light", "fontFamily": "system", "website": None, "email": None,
    "phone": None, "termsOfService": None, "privacyPolicy": None, "showButton": True, "showTimestamp": False,
    "storageLocation": "localStorage", "additionalStylesheet": "", "allowFileUpload": False,
    "maxFileSizeMb": 5, "fileTypes": ["image/png"],
}


def widget_source() -> bytes:
    return WORKFLOW_VIEW.read_bytes() + b"\n" + WIDGET.read_bytes()


def gzip_size() -> tuple[int, int]:
    raw = widget_source()
    return len(raw), len(gzip.compress(raw, compresslevel=9))


def _serve() -> tuple[ThreadingHTTPServer, str]:
    widget = widget_source()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path == "/webchat/inject.js":
                body, kind = widget, "text/javascript"
            elif self.path == "/floor/webchat/inject.js":
                body, kind = FLOOR_INJECT, "text/javascript"
            elif self.path.startswith("/floor/webchat/") and self.path.endswith("/config.js"):
                body, kind = b"(function(){window.botpress.init({})})();", "text/javascript"
            elif self.path.startswith("/floorpage"):
                body = (f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
                        f'<script src="{base}/floor/webchat/inject.js"></script>'
                        f'<script src="{base}/floor/webchat/{BOT_ID}/config.js" defer></script></body></html>').encode()
                kind = "text/html"
            elif self.path == f"/webchat/{BOT_ID}/config.js":
                options = {"botId": BOT_ID, "hostUrl": base, "configuration": CONFIGURATION}
                body = (f"(function(){{var o={json.dumps(options)};window.botpressConfig=o;"
                        "if(window.botpress&&window.botpress.init){window.botpress.init(o)}})();").encode()
                kind = "text/javascript"
            elif self.path.startswith("/page"):
                body = (f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
                        f'<script src="{base}/webchat/inject.js"></script>'
                        f'<script src="{base}/webchat/{BOT_ID}/config.js" defer></script></body></html>').encode()
                kind = "text/html"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # a page closed mid-request; the widget's connection attempts have nowhere to go

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


MEASURE = """() => new Promise((resolve) => {
  const done = () => {
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    const script = performance.getEntriesByType('resource').find(e => e.name.endsWith('/webchat/inject.js'));
    if (!paint || !script) return performance.now() > 20000 ? resolve({visible: false}) : setTimeout(done, 20);
    const fab = document.getElementById('bp-web-widget-container').shadowRoot.querySelector('.bpFab');
    const box = fab.getBoundingClientRect();
    resolve({paint: paint.startTime, loaded: script.responseEnd, visible: box.width > 0 && box.height > 0});
  };
  done();
})"""


def paint_times(runs: int) -> tuple[list[float], list[float]]:
    """(widget times, floor times): page loads alternate between the two."""
    from playwright.sync_api import sync_playwright

    server, base = _serve()
    times: dict[str, list[float]] = {"page": [], "floorpage": []}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            for n in range(runs):
                for page_name in ("floorpage", "page"):
                    context = browser.new_context()
                    page = context.new_page()
                    page.goto(f"{base}/{page_name}{n}")
                    result = page.evaluate(MEASURE)
                    if not result["visible"]:
                        raise SystemExit(f"the button of /{page_name} was not painted")
                    times[page_name].append(result["paint"] - result["loaded"])
                    context.close()
            browser.close()
    finally:
        server.shutdown()
    return times["page"], times["floorpage"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="page loads of each to measure (default 10: 20 loads)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()

    raw, zipped = gzip_size()
    times, floor = paint_times(args.runs)
    times, floor = sorted(times), sorted(floor)
    ratio = statistics.median(times) / statistics.median(floor)
    report = {
        "widget_bytes": raw,
        "widget_gzip_bytes": zipped,
        "paint_ms_median": round(statistics.median(times), 1),
        "paint_ms_p95": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "paint_ms_max": round(times[-1], 1),
        "runs": len(times),
        "floor_paint_ms_median": round(statistics.median(floor), 1),
        "paint_ratio_to_floor": round(ratio, 2),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"webchat widget: {raw / 1024:.1f} KB, {zipped / 1024:.1f} KB gzipped (target < {TARGET_GZIP_KB} KB)")
        print(f"button first paint after inject.js loaded, {len(times)} loads: median {report['paint_ms_median']} ms, "
              f"p95 {report['paint_ms_p95']} ms, max {report['paint_ms_max']} ms (original target < {TARGET_PAINT_MS} ms)")
        print(f"floor page (one button in a shadow root), {len(floor)} loads alternating: median "
              f"{report['floor_paint_ms_median']} ms; the widget takes {ratio:.2f}x the floor's median "
              f"(CI bar <= {CHECK_MAX_PAINT_RATIO:.1f}x)")
    failed = zipped >= TARGET_GZIP_KB * 1024 or ratio > CHECK_MAX_PAINT_RATIO
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
