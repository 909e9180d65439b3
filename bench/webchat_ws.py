"""Webchat benchmark: N simulated widgets talk to a bot over websockets, beside a bare
Channels echo consumer on the same server.

One Daphne process (the studio's websocket server) serves `bench/echo_asgi.py`: the studio
plus `/bench/echo/`, a consumer that returns each frame through the Redis channel layer.
Each simulated widget speaks the widget's protocol (docs/websocket-protocol.md): `hello`,
then in a closed loop a `message` frame, waiting for the bot's `outgoing` message frame
("What is your name?" / "Hello NAME", the bot of bench/chat_api.py). A turn runs from
sending the message to receiving the bot's answer. The echo clients send frames of the
same size and wait for them to come back. Echo and bot are measured alternately (echo, bot,
echo, bot...) in the same server process; what is judged is the bot's throughput as a
fraction of the echo's: what a turn (storing, the engine, delivery) costs on top of the
websocket and channel layer stack it rides on.

Then `--idle` connections (1,000 by default) are opened, each says `hello` (a widget on an
open page, with its user and conversation), and are held; the server's memory growth per
connection is reported, and every connection must still answer a ping. `--quick` (CI)
holds 200 without a hello, to stay within CI's time.

The server runs on this machine against PostgreSQL (DATABASE_URL) and Redis (REDIS_URL):

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/webchat_ws.py
    python bench/webchat_ws.py --quick --check     # what CI runs

The websocket client is a few lines of RFC 6455 over asyncio streams rather than a library:
the load generator shares the 2 cores with the server, so it should cost as little as
possible, and it costs the same for the echo and the bot (no websocket client library is a
dependency of the project either).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_bots import publish_bot, start_django  # noqa: E402 - the benches' shared set-up
sys.path.insert(0, str(ROOT / "bench"))

from chat_api import NAME_BOT, CpuMeter, _free_port, percentile

BOT = {**NAME_BOT, "name": "Webchat bench", "description": "bench/webchat_ws.py: asks for a name and greets, forever."}

# The goal (docs/performance.md): a bot turn over the websocket at least half the echo's throughput.
GOAL_THROUGHPUT_RATIO = 0.50
# What CI enforces (--check), set from measurements on the 2-core machine quiet and with a
# neighbour keeping one core busy (docs/performance.md), with room below them.
CHECK_MIN_THROUGHPUT_RATIO = 0.01


# ---- setup (Django, in this process) -------------------------------------------------------

def prepare_bot() -> str:
    start_django("bench/webchat_ws.py")
    from django.db import connection

    bot = publish_bot(BOT, note="bench/webchat_ws.py")
    connection.close()
    return str(bot.pk)


def clean_up() -> None:
    """Drop the bench's conversations and users (the bot stays for the next run)."""
    from django.db import connection

    from flows.models import Bot
    from runtime.models import Conversation, EndUser

    bots = Bot.objects.filter(name=BOT["name"])
    Conversation.objects.filter(bot__in=bots).delete()
    EndUser.objects.filter(bot__in=bots).delete()
    connection.close()


def start_server(port: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "studio.settings", "LOG_LEVEL": "WARNING",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0", "echo_asgi:application"]
    log = open(log_path, "wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
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


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# ---- a minimal websocket client (RFC 6455, text frames) -------------------------------------

class Closed(Exception):
    pass


class WebSocket:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, host: str, port: int, path: str) -> WebSocket:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Origin: http://{host}:{port}\r\n\r\n").encode())
        status = await reader.readline()
        if b" 101 " not in status:
            raise RuntimeError(f"{path}: the server answered {status!r} to the websocket upgrade")
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        return cls(reader, writer)

    def _frame(self, opcode: int, data: bytes) -> bytes:
        n = len(data)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        masked = (int.from_bytes(data, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
        return head + mask + masked

    def send(self, text: str) -> None:
        self.writer.write(self._frame(0x1, text.encode()))

    def send_json(self, value) -> None:
        self.send(json.dumps(value))

    async def recv(self) -> str:
        while True:
            try:
                head = await self.reader.readexactly(2)
                n = head[1] & 0x7F
                if n == 126:
                    n = int.from_bytes(await self.reader.readexactly(2), "big")
                elif n == 127:
                    n = int.from_bytes(await self.reader.readexactly(8), "big")
                payload = await self.reader.readexactly(n)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                raise Closed("the server closed the connection") from exc
            opcode = head[0] & 0x0F
            if opcode == 0x1:
                return payload.decode()
            if opcode == 0x9:  # ping: answer, as a browser does
                self.writer.write(self._frame(0xA, payload))
            elif opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                raise Closed(f"the server closed the connection (code {code}): {payload[2:].decode(errors='replace')}")

    async def recv_json(self) -> dict:
        return json.loads(await self.recv())

    def close(self) -> None:
        self.writer.close()


# ---- clients ---------------------------------------------------------------------------------

async def open_widget(host: str, port: int, bot_id: str) -> WebSocket:
    """A widget on a page: connect and say hello; returns once the server answered `ready`."""
    ws = await WebSocket.connect(host, port, f"/ws/webchat/{bot_id}/")
    ws.send_json({"type": "hello"})
    while True:
        frame = await ws.recv_json()
        if frame.get("type") == "ready":
            return ws
        if frame.get("type") == "error":
            raise RuntimeError(f"hello refused: {frame}")


class Window:
    """The measured window: it opens `warmup` seconds after every client has had one answer
    (a slow machine still measures steady state) and closes after `seconds`, or later if
    fewer than `min_answers` answers came in by then. Answers received inside it count."""

    def __init__(self, clients: int, warmup: float, seconds: float, min_answers: int):
        self.waiting, self.warmup, self.seconds, self.min_answers = clients, warmup, seconds, min_answers
        self.start = self.stop = self.closed_at = None
        self.latencies: list[float] = []
        loop = asyncio.get_running_loop()
        self.opened, self.closed = loop.create_future(), loop.create_future()

    def answered(self, first: bool, started: float, received_at: float) -> None:
        if first:
            self.waiting -= 1
            if self.waiting == 0:
                self.start = time.perf_counter() + self.warmup
                self.stop = self.start + self.seconds
                self.opened.set_result(None)
        elif self.start is not None and self.closed_at is None and received_at >= self.start:
            self.latencies.append((received_at - started) * 1000)
            if received_at >= self.stop and len(self.latencies) >= self.min_answers:
                self.closed_at = received_at
                self.closed.set_result(None)

    def running(self) -> bool:
        return self.closed_at is None

    def abort(self) -> None:
        """A client failed: every client stops (the phase reports the error)."""
        if self.closed_at is None:
            self.closed_at = time.perf_counter()


async def widget_user(index, ws, window: Window, errors, turns: list[int]):
    turn, first = turns[index], True  # the conversation goes on from the last phase
    while window.running():
        text = "hi" if turn % 2 == 0 else f"User{index}-{turn}"
        expected = "What is your name?" if turn % 2 == 0 else f"Hello {text}"
        started = time.perf_counter()
        ws.send_json({"type": "message", "payload": {"type": "text", "text": text}})
        while True:
            frame = await asyncio.wait_for(ws.recv_json(), timeout=60)
            if frame.get("type") == "error":
                errors.append(f"widget {index}: {frame}")
                window.abort()
                return
            message = frame.get("message") if frame.get("type") == "message" else None
            if message and message.get("direction") == "outgoing":
                break
        received_at = time.perf_counter()
        reply = message["payload"].get("text", "")
        if reply != expected:
            errors.append(f"widget {index} expected {expected!r}, got {reply!r}")
            window.abort()
            return
        window.answered(first, started, received_at)
        first = False
        turn += 1
        turns[index] = turn


async def echo_user(index, ws, window: Window, errors, turns: list[int]):
    # A frame the size of the widget's message frame, and about the size of the bot's answer.
    turn, first = turns[index], True
    while window.running():
        text = json.dumps({"type": "message", "payload": {"type": "text", "text": f"User{index}-{turn}"},
                           "padding": "x" * 200})
        started = time.perf_counter()
        ws.send(text)
        echoed = await asyncio.wait_for(ws.recv(), timeout=60)
        received_at = time.perf_counter()
        if echoed != text:
            errors.append(f"echo client {index} got back {echoed[:80]!r}")
            window.abort()
            return
        window.answered(first, started, received_at)
        first = False
        turn += 1
        turns[index] = turn


async def open_clients(kind: str, host, port, bot_id, users) -> dict:
    """The phase's clients, opened once and reused by every round."""
    if kind == "bot":
        sockets = await asyncio.gather(*(open_widget(host, port, bot_id) for _ in range(users)))
    else:
        sockets = await asyncio.gather(*(WebSocket.connect(host, port, "/bench/echo/") for _ in range(users)))
    return {"sockets": sockets, "turns": [0] * users, "user": widget_user if kind == "bot" else echo_user}


async def run_phase(kind: str, clients: dict, users, seconds, warmup, meter) -> dict:
    sockets, user = clients["sockets"], clients["user"]
    errors = []
    window = Window(users, warmup, seconds, min_answers=users)

    async def measure_cpu():
        await window.opened
        await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
        meter.start()
        await window.closed
        return meter.stop()

    cpu_task = asyncio.ensure_future(measure_cpu())
    await asyncio.gather(*(user(i, ws, window, errors, clients["turns"]) for i, ws in enumerate(sockets)))
    if errors or not window.closed.done():
        cpu_task.cancel()
        return {"kind": kind, "latencies": [], "errors": errors or ["the measured window never closed"],
                "seconds": seconds}
    return {"kind": kind, "latencies": window.latencies, "errors": errors, "seconds": window.closed_at - window.start,
            "cpu": await cpu_task}


async def open_socket(host: str, port: int, bot_id: str) -> WebSocket:
    """A widget's socket before its hello: accepted, the origin checked, nothing said yet."""
    ws = await WebSocket.connect(host, port, f"/ws/webchat/{bot_id}/")
    ws.send_json({"type": "ping"})  # answered with bad_request: the consumer is up and checked the origin
    await ws.recv_json()
    return ws


async def hold_idle(host, port, bot_id, count: int, server_pid: int, hello: bool) -> dict:
    before = rss_bytes(server_pid)
    started = time.perf_counter()
    sockets: list[WebSocket] = []
    # Widgets connecting at once. More than a few only queue on the server's one thread for
    # database work, and under load the queue outlasts Daphne's handshake timeout.
    opening = asyncio.Semaphore(4)

    # Held as a browser holds them: each socket is read from the moment it is open, so the
    # server's keepalive pings are answered (Daphne closes a socket that leaves them unanswered).
    answers: dict[WebSocket, asyncio.Queue] = {}
    readers: list[asyncio.Future] = []

    async def read(ws):
        while True:
            answers[ws].put_nowait(await ws.recv_json())

    async def one():
        async with opening:
            ws = await (open_widget if hello else open_socket)(host, port, bot_id)
        sockets.append(ws)
        answers[ws] = asyncio.Queue()
        readers.append(asyncio.ensure_future(read(ws)))

    await asyncio.gather(*(one() for _ in range(count)))
    opened_in = time.perf_counter() - started
    await asyncio.sleep(2.0)  # held, idle
    after = rss_bytes(server_pid)
    # Every connection is still served: each answers a ping (or, before its hello, refuses it).
    for ws in sockets:
        ws.send_json({"type": "ping"})

    async def pong(ws):
        while (await asyncio.wait_for(answers[ws].get(), timeout=60)).get("type") not in ("pong", "error"):
            pass

    try:
        await asyncio.gather(*(pong(ws) for ws in sockets))
    finally:
        for reader in readers:
            reader.cancel()
    for ws in sockets:
        ws.close()
    return {"count": count, "opened_in": opened_in, "rss_before": before, "rss_after": after, "hello": hello}


def summary(results: list[dict]) -> dict:
    values = [ms for result in results for ms in result["latencies"]]
    seconds = sum(result["seconds"] for result in results)
    return {"turns_per_second": len(values) / seconds, "p50": percentile(values, 0.5),
            "p99": percentile(values, 0.99), "count": len(values)}


def report(result: dict, cores: int) -> None:
    values = result["latencies"]
    cpu = result["cpu"]
    name = "bot turn" if result["kind"] == "bot" else "echo"
    print(f"{name}: {len(values)} in {result['seconds']:.1f} s, {len(values) / result['seconds']:.1f}/s; "
          f"latency ms p50 {percentile(values, 0.5):.1f}  p99 {percentile(values, 0.99):.1f}  "
          f"mean {statistics.fmean(values):.1f}")
    others = cpu["machine busy"] - sum(cpu[n] for n in ("server", "postgres", "redis", "load generator"))
    print("  CPU ms each: " + "  ".join(
        f"{n} {cpu[n] * 1000 / len(values):.2f}" for n in ("server", "postgres", "redis", "load generator"))
        + f";  machine {cpu['machine busy'] / result['seconds'] / cores:.0%} busy of {cores} cores, "
          f"other processes {max(0.0, others) / result['seconds']:.2f} cores")


async def run(args, bot_id: str, port: int, server: subprocess.Popen) -> int:
    host = "127.0.0.1"
    cores = os.cpu_count() or 1
    meter = CpuMeter([server.pid])
    results = {"echo": [], "bot": []}
    clients = {kind: await open_clients(kind, host, port, bot_id, args.users) for kind in ("echo", "bot")}
    try:
        for _ in range(max(1, args.rounds)):
            for kind in ("echo", "bot"):
                result = await run_phase(kind, clients[kind], args.users, args.seconds, args.warmup, meter)
                if result["errors"] or not result["latencies"]:
                    print(f"{kind}: errors:", *result["errors"][:10], sep="\n  ")
                    return 1
                report(result, cores)
                results[kind].append(result)
    finally:
        for ws in (ws for kind in clients.values() for ws in kind["sockets"]):
            ws.close()
    echo, bot = summary(results["echo"]), summary(results["bot"])
    ratio = bot["turns_per_second"] / echo["turns_per_second"]
    print(f"bot turn against the echo, pooled over {args.rounds} run(s) of each, alternating, {args.users} clients:")
    print(f"  per second: bot turns {bot['turns_per_second']:.1f}, echoes {echo['turns_per_second']:.1f}: "
          f"{ratio:.0%} of the echo (goal >= {GOAL_THROUGHPUT_RATIO:.0%}, CI bar >= {CHECK_MIN_THROUGHPUT_RATIO:.0%})")
    print(f"  p99 ms: bot turn {bot['p99']:.1f}, echo {echo['p99']:.1f}: {bot['p99'] / echo['p99']:.1f}x the echo's")
    status = 0
    if args.check and ratio < CHECK_MIN_THROUGHPUT_RATIO:
        print(f"CI bar missed: the bot turn's throughput is {ratio:.0%} of the echo's, under "
              f"{CHECK_MIN_THROUGHPUT_RATIO:.0%}")
        status = 1
    if args.idle:
        idle = await hold_idle(host, port, bot_id, args.idle, server.pid, args.idle_hello)
        grown = idle["rss_after"] - idle["rss_before"]
        said = "connected and said hello" if idle["hello"] else "connected (no hello)"
        print(f"idle: {idle['count']} widgets {said} in {idle['opened_in']:.1f} s, held by one "
              f"server process: RSS {idle['rss_before'] / 2**20:.0f} -> {idle['rss_after'] / 2**20:.0f} MiB, "
              f"{grown / idle['count'] / 1024:.1f} KiB per connection; all answered a ping")
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20, help="websocket clients in each phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per phase (after the warm-up)")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds after every client's first answer before measuring")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of (echo, bot), measured alternately")
    parser.add_argument("--idle", type=int, default=None,
                        help="idle connections to hold at the end (0: none; default 1,000, 200 with --quick)")
    parser.add_argument("--idle-hello", action=argparse.BooleanOptionalAction, default=None,
                        help="idle widgets say hello (a user and a conversation each); default yes, "
                             "no with --quick (a hello costs 20-250 ms of the server's database thread on the "
                             "2-core machine)")
    parser.add_argument("--quick", action="store_true", help="3 s measured after 1 s of warm-up, per phase")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when the bot turn's throughput, as a fraction of the echo's, misses the CI bar")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup = 3.0, 1.0
    if args.idle_hello is None:
        args.idle_hello = not args.quick
    if args.idle is None:
        args.idle = 200 if args.quick else 1000
    bot_id = prepare_bot()
    port = _free_port()
    server = start_server(port, Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-webchat-ws-{port}.log")
    try:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        return asyncio.run(run(args, bot_id, port, server))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a graceful shutdown slowed down by a busy machine
            server.kill()
            server.wait()
        clean_up()


if __name__ == "__main__":
    raise SystemExit(main())
