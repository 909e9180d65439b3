"""Noisy neighbour benchmark: one tenant's busy-looping bot must not slow another tenant's
Chat API (issue 14, item 1).

One uvicorn process (the production server) serves two workspaces. The quiet tenant's users
hold a closed-loop conversation with an echo bot through the Chat API (createMessage, which
waits for the bot's turn, so its latency is the whole turn). It is measured twice in the
same run: alone, then while the noisy tenant keeps sending messages to a bot whose code card
busy-waits in a node that loops back to itself (each of its turns runs until the turn
budget stops it). Printed: both p50/p95/p99, the ratio, and how the noisy turns ended.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/noisy_neighbour.py
    python bench/noisy_neighbour.py --quick --check     # exit 1 if the noisy p99 misses 100 ms

The 100 ms target is the issue's, an absolute time: --check is for a quiet machine. CI runs
`--quick --max-ratio 4`: p99 beside the noisy tenant at most 4x p99 alone, both measured in
the same run (before the engine pool the quiet tenant's requests waited 10-19 s, a ratio in
the hundreds; measured with the pool: 0.98 and 1.71).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_bots import publish_bot, start_django  # noqa: E402 - the benches' shared set-up

TARGET_P99_MS = 100
BUSY_MS = 1000  # per pass, under the 2 s limit of one code run: the turn budget stops the turn
QUIET_BOT = {
    "format": "flowstudio.bot/1", "name": "Noisy-neighbour bench: quiet",
    "settings": {"inactivityTimeoutMinutes": 0},
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "echo"},
        {"id": "echo", "kind": "standard", "cards": [{"id": "say", "type": "text", "text": "{{event.preview}}"}]},
    ]}],
}
NOISY_BOT = {
    "format": "flowstudio.bot/1", "name": "Noisy-neighbour bench: noisy",
    "settings": {"inactivityTimeoutMinutes": 0},
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "spin"},
        {"id": "spin", "kind": "standard", "cards": [
            {"id": "burn", "type": "code", "code": f"const t0 = Date.now(); while (Date.now() - t0 < {BUSY_MS}) {{}}"},
        ], "next": "spin"},
    ]}],
}


def prepare() -> dict:
    start_django("bench/noisy_neighbour.py")
    from django.db import connection

    from flows.models import Bot
    from integrations.chat_api import services

    Workspace = Bot._meta.get_field("workspace").related_model
    found = {}
    for tenant, definition in (("quiet", QUIET_BOT), ("noisy", NOISY_BOT)):
        workspace, _ = Workspace.objects.get_or_create(slug=f"bench-{tenant}", defaults={"name": f"Bench {tenant}"})
        bot = publish_bot(definition, note="bench/noisy_neighbour.py", workspace=workspace)
        # A new key each run: one left by an earlier run may be encrypted under keys since replaced.
        row = services.update_chat_api(bot, enabled=True, rotate_key=True, webhook_url="")
        found[tenant] = (bot.pk, row.webhook_id, row.encryption_key)
    connection.close()
    return found


def outcome_of_noisy_turns(bot_pk, since) -> dict:
    from django.db.models import Count

    from runtime.models import Event

    rows = (Event.objects.filter(conversation__bot_id=bot_pk, created_at__gte=since)
            .values("status").annotate(n=Count("id")))
    return {row["status"]: row["n"] for row in rows}


def clean_up(bots) -> None:
    from runtime.models import Conversation, EndUser

    Conversation.objects.filter(bot_id__in=bots).delete()
    EndUser.objects.filter(bot_id__in=bots).delete()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, log_path: Path) -> subprocess.Popen:
    # The rate limit off, as in bench/chat_api.py: the closed loop would measure the limiter.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "studio.settings", "LOG_LEVEL": "ERROR", "CHAT_API_RATE_LIMIT": "0"}
    command = [sys.executable, "-m", "uvicorn", "studio.asgi:application", "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log", "--log-level", "warning", "--loop", "uvloop",
               "--http", "httptools"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited; its log:\n{log_path.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
            return process
        except urllib.error.HTTPError:
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start within 60 s")


class Http:
    """One keep-alive HTTP/1.1 connection for JSON requests."""

    def __init__(self, port):
        self.port = port

    async def connect(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, method, path, body=None, key=None):
        data = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
                f"Content-Length: {len(data)}"] + ([f"x-user-key: {key}"] if key else [])
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return status, json.loads(payload) if payload else {}

    def close(self):
        self.writer.close()


async def user(port, webhook_id, key, stop, latencies=None, errors=None):
    http = Http(port)
    await http.connect()
    base = f"/chat/{webhook_id}"
    await http.request("POST", f"{base}/users/get-or-create", {}, key)
    conversation = (await http.request("POST", f"{base}/conversations", {}, key))[1]["conversation"]["id"]
    n = 0
    try:
        while not stop.is_set():
            started = time.perf_counter()
            status, body = await http.request("POST", f"{base}/messages", {
                "conversationId": conversation, "payload": {"type": "text", "text": f"m{n}"}}, key)
            if status != 201 and errors is not None:
                errors.append(f"createMessage answered {status}: {body}")
                return
            if latencies is not None:
                latencies.append((time.perf_counter() - started) * 1000)
            n += 1
    finally:
        http.close()


async def phase(port, tenants, users, noisy_users, seconds, warmup):
    import jwt

    stop, latencies, errors, measured = asyncio.Event(), [], [], []
    pid = os.getpid()
    quiet_keys = [jwt.encode({"id": f"quiet-{pid}-{i}"}, tenants["quiet"][2], algorithm="HS256") for i in range(users)]
    noisy_keys = [jwt.encode({"id": f"noisy-{pid}-{i}"}, tenants["noisy"][2], algorithm="HS256")
                  for i in range(noisy_users)]
    tasks = [asyncio.ensure_future(user(port, tenants["quiet"][1], key, stop, measured, errors)) for key in quiet_keys]
    tasks += [asyncio.ensure_future(user(port, tenants["noisy"][1], key, stop)) for key in noisy_keys]
    await asyncio.sleep(warmup)
    measured.clear()
    await asyncio.sleep(seconds)
    latencies = list(measured)
    stop.set()
    await asyncio.wait(tasks, timeout=30)
    return latencies, errors


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=5, help="quiet tenant's users (closed loop)")
    parser.add_argument("--noisy-users", type=int, default=4, help="noisy tenant's users (closed loop)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="8 s per phase after 2 s of warm-up")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if the noisy p99 is {TARGET_P99_MS} ms or more")
    parser.add_argument("--max-ratio", type=float, default=None,
                        help="exit 1 if p99 beside the noisy tenant is more than this many times p99 alone "
                             "(the CI gate: a ratio measured in the same run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup = 8.0, 2.0
    tenants = prepare()
    from django.utils import timezone

    started_at = timezone.now()
    port = _free_port()
    server = start_server(port, Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-noisy-{port}.log")
    try:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        quiet, errors = asyncio.run(phase(port, tenants, args.users, 0, args.seconds, args.warmup))
        noisy, more_errors = asyncio.run(phase(port, tenants, args.users, args.noisy_users, args.seconds, args.warmup))
    finally:
        server.terminate()
        server.wait(timeout=30)
    outcomes = outcome_of_noisy_turns(tenants["noisy"][0], started_at)
    clean_up([tenants["quiet"][0], tenants["noisy"][0]])
    if errors or more_errors or not quiet or not noisy:
        print("errors:", *(errors + more_errors)[:10], sep="\n  ")
        return 1
    print(f"noisy-neighbour benchmark: uvicorn x1, {args.users} quiet users, {args.noisy_users} noisy users "
          f"(code card busy {BUSY_MS} ms a pass, self-looping node), {args.seconds:.0f} s per phase")
    rows = []
    for name, values in (("quiet alone", quiet), ("beside the noisy tenant", noisy)):
        p50, p95, p99 = (percentile(values, f) for f in (0.5, 0.95, 0.99))
        rows.append(p99)
        print(f"  {name:24} requests {len(values):6}  {len(values) / args.seconds:7.1f}/s  "
              f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms")
    print(f"  p99 beside the noisy tenant / p99 alone: {rows[1] / rows[0]:.2f}  "
          f"(target: p99 beside it under {TARGET_P99_MS} ms)")
    print(f"  noisy turns: {outcomes}")
    if args.check and rows[1] >= TARGET_P99_MS:
        print("target missed")
        return 1
    if args.max_ratio is not None and rows[1] / rows[0] > args.max_ratio:
        print(f"ratio bar missed: {rows[1] / rows[0]:.2f} > {args.max_ratio}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
