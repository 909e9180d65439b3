/* The Logs page's live tail over a websocket (docs/dashboard.md, "Logs"; studio/log_tail.py).
   While the socket is open, <html data-log-socket> is set and the page's 2 s htmx poll (the
   #log-tail element) stands still; new lines arrive as the server stores them. When the socket
   cannot open or drops, the flag goes, the poll takes over from the last line the socket
   brought, and the socket is tried again a little later. A filter change (htmx swaps
   #log-results) reconnects with the new filters. */
(function () {
  "use strict";
  const root = document.documentElement;
  const REFUSED = new Set([4400, 4401, 4403, 4404]); // asking again would be refused again
  let socket = null;
  let after = null; // the newest event id the socket brought lines up to
  let retryTimer = null;
  let retryMs = 2000;

  const tail = () => document.getElementById("log-tail");
  const ticked = () => Boolean(document.getElementById("live-tail")?.checked);

  function open() {
    const el = tail();
    if (socket || !el || !el.dataset.socket || !ticked() || !("WebSocket" in window)) return;
    const url = new URL(el.dataset.socket, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try { ws = new WebSocket(url); } catch (err) { return retry(); }
    socket = ws;
    ws.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "ready") {
        after = frame.after;
        retryMs = 2000;
        root.dataset.logSocket = "open";
      } else if (frame.type === "lines") {
        after = frame.after;
        document.querySelector("[data-testid=logs-empty]")?.remove();
        document.getElementById("log-lines")?.insertAdjacentHTML("afterbegin", frame.html);
      }
    };
    ws.onclose = (event) => {
      if (socket === ws) socket = null;
      const wasOpen = Boolean(root.dataset.logSocket);
      delete root.dataset.logSocket;
      if (wasOpen) resumePolling();
      if (!REFUSED.has(event.code)) retry();
    };
  }

  function retry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(open, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  }

  // The poll element was made with the page's `after`: give it the socket's, so lines the
  // socket brought are not asked for again.
  function resumePolling() {
    const el = tail();
    if (!el || after === null || !window.htmx) return;
    const poll = new URL(el.getAttribute("hx-get"), location.href);
    poll.searchParams.set("after", after);
    const ws = new URL(el.dataset.socket, location.href);
    ws.searchParams.set("after", after);
    const fresh = el.cloneNode(false);
    fresh.setAttribute("hx-get", poll.pathname + poll.search);
    fresh.dataset.socket = ws.pathname + ws.search;
    el.replaceWith(fresh);
    window.htmx.process(fresh);
  }

  function close() {
    clearTimeout(retryTimer);
    if (socket) { const ws = socket; socket = null; ws.onclose = null; ws.close(); }
    if (root.dataset.logSocket) { delete root.dataset.logSocket; resumePolling(); }
  }

  document.addEventListener("change", (event) => {
    if (event.target.id !== "live-tail") return;
    if (ticked()) open(); else close();
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "log-results") return;
    close();
    after = null;
    retryMs = 2000;
    open();
  });
  open();
})();
