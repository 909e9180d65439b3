"""LLM turns benchmark (issue 15): many conversations waiting on a slow language model at
once, over the real stack, beside the plain Chat API.

One uvicorn process (the production server) on PostgreSQL (DATABASE_URL) and Redis
(REDIS_URL). The provider is the scripted LLM server (integrations/llm/scripted_server.py)
in a process of its own, so its CPU is not counted as the server's or the load generator's:
every request is answered with the same 50 words streamed one a chunk, `--token-delay`
(0.04 s) apart, 2 s an answer. The bot's node is an AI Generate Text card (streamed) and a
wait; its twin, the plain bot, has a text card in its place. Each conversation is a user
with the Chat API's listen stream (Server-Sent Events) open; a turn runs from createMessage
to the bot's `message_created` signal on the stream.

Measured in the same run, in this order:

1. the plain Chat API benchmark's load alone (bench/chat_api.py's 20 users of the name bot,
   closed loop): its p99;
2. `--rounds` bursts of the plain bot: all `--conversations` (200) send a message at once;
   server CPU per plain turn;
3. `--rounds` bursts of the LLM bot, alone, alternating with 2: the wall time until the
   200th answer as a multiple of the scripted answer's time, server CPU per LLM turn, the
   server's memory and threads while the turns wait;
4. `--loaded-rounds` bursts of the LLM bot while the 20 Chat API users keep talking: their
   p99 as a multiple of the p99 alone.

A failed model call (the bot's error flow answers "Error: ...") fails the run, --check or
not. Progress goes to stderr; `kill -USR1` on the bench prints where its tasks wait.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/llm_turns.py
    python bench/llm_turns.py --quick --check       # what CI runs

--check gates on ratios measured in this run, never on absolute times (docs/performance.md):
wall / scripted answer time, CPU per LLM turn / CPU per plain turn, Chat API p99 under the
LLM load / p99 without it. The issue's absolute targets (3 s of wall, 5 ms of CPU beyond
the plain turn, p99 < 100 ms, first streamed token within 50 ms) are printed beside them.

The first streamed token: streaming to clients is not built yet (docs/ai.md), so no signal
on the stream carries a delta and the figure prints "not measured yet". The hook is
`streamed_delta` below: once the runtime pushes deltas, make it recognise their signal and
the bench measures, per turn, the time from the scripted server sending the first token to
the load generator receiving it (both on this machine's monotonic clock).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_bots import publish_bot  # noqa: E402 - the benches' shared set-up
sys.path.insert(0, str(ROOT / "bench"))

import chat_api  # noqa: E402 - bench/chat_api.py: its server start, HTTP client, name bot, CPU meter

# What CI enforces (--check): bars set from what this bench measured on the 2-core machine
# with other sessions' load (docs/performance.md, "LLM turns"), with room above the worst
# run, so today's code passes and a regression does not; the goals are far below them and
# printed beside. Raise a bar (lower the number) when the runtime gets closer.
# Issue 15's cuts (provider cache, raw SSE, FIFO resume, usage in the write) brought the CPU
# ratio from 4.6-8.2x to 2.4-4.4x, so its bar is lowered with room. The wall went from
# 5.0-8.9x to 3.9-7.9x but swings with the machine's load (12.7x in a run beside a test
# suite), so its bar stays. The second round (docs/performance.md, "Issue 15's second round of
# cuts") measured 2.6-4.5x against main's 4.3-5.1x in the same loaded runs; no quiet run of it
# yet, and a quiet machine gives a higher ratio (a cheaper plain turn), so the bar stays.
CHECK_MAX_WALL_RATIO = 15.0  # the 200th answer / the scripted answer's 2 s; measured 3.9-7.9x (12.7x loaded), goal 1.5x
CHECK_MAX_CPU_RATIO = 14.0  # server CPU per LLM turn / per plain turn; measured 2.4-4.4x loaded, 7.4x and 9.1x in two quiet fresh-clone runs (a plain turn is cheaper there): a regression catcher, the goal is +5 ms
CHECK_MAX_P99_RATIO = 30.0  # Chat API p99 during the LLM bursts / alone; measured 3.6-10.4x (19.5x with 5 users)
GOAL_WALL_RATIO = 1.5
GOAL_WALL_SECONDS = 3.0
GOAL_EXTRA_CPU_MS = 5.0
GOAL_P99_MS = 100.0
GOAL_FIRST_TOKEN_MS = 50.0

WORDS = 50
WORKSPACE = "bench-llm"
PROVIDER = "bench-scripted"


def _bot(name: str, card: dict) -> dict:
    return {
        "format": "flowstudio.bot/1", "name": name,
        "description": "bench/llm_turns.py",
        "settings": {"inactivityTimeoutMinutes": 0},
        "flows": [
            {"name": "main", "nodes": [
                {"id": "start", "kind": "start", "next": "talk"},
                {"id": "talk", "kind": "standard", "cards": [card, {"id": "again", "type": "wait"}], "next": "talk"},
            ]},
            # A failed call answers at once, naming why, instead of leaving the bench waiting.
            {"name": "error", "nodes": [
                {"id": "entry", "kind": "entry", "next": "say"},
                {"id": "say", "kind": "standard", "cards": [
                    {"id": "oops", "type": "text", "text": "Error: {{event.error.message}}"}], "next": "exit"},
                {"id": "exit", "kind": "exit"},
            ]},
        ],
    }


LLM_BOT = _bot("LLM turns bench: AI", {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}",
                                       "stream": True})
PLAIN_BOT = _bot("LLM turns bench: plain", {"id": "answer", "type": "text", "text": "You said {{event.preview}}"})


def say(*parts) -> None:
    """Progress, on stderr: the report is stdout's."""
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def streamed_delta(signal: dict) -> bool:
    """True when a signal of the listen stream carries a piece of an answer still being
    generated: the Chat API's `message_delta` (docs/chat-api.md, "Streamed answers and stop"),
    any signal but `message_created` whose data names a `streamId` or a `delta`."""
    data = signal.get("data")
    return (signal.get("type") != "message_created" and isinstance(data, dict)
            and ("streamId" in data or "delta" in data))


# ---- the scripted provider, in a process of its own (`--serve-llm`) -------------------------

def serve_llm(token_delay: float) -> None:
    """Run the scripted server answering every request with the bench's answer; print its
    port; serve until stdin closes. GET /bench/streams: per prompt, when its stream started,
    sent its first token and ended (time.monotonic), then forgotten."""
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from integrations.llm import scripted_server

    answer = " ".join(f"word{i}" for i in range(1, WORDS + 1))

    class BenchServer(scripted_server.ScriptedServer):
        streams: dict = {}

        def _next(self, body):  # the same answer for ever; the requests are not kept
            step = scripted_server.text(answer, token_delay=token_delay)
            prompt = next((m.get("content") for m in reversed(body.get("messages") or [])
                           if m.get("role") == "user"), "")
            step.prompt = prompt
            self.streams[prompt] = {"start": time.monotonic()}
            return step

        async def _stream(self, step, model, finish, usage):
            times = self.streams.get(getattr(step, "prompt", ""), {})
            async for piece in super()._stream(step, model, finish, usage):
                if "first" not in times and b'"content": "word' in piece:
                    times["first"] = time.monotonic()
                yield piece
            times["end"] = time.monotonic()

        def app(self):
            app = super().app()

            async def streams(request):
                found, self.streams = self.streams, {}
                return JSONResponse(found)

            app.router.routes.append(Route("/bench/streams", streams))
            return app

    server = BenchServer().start()
    print(server.port, flush=True)
    sys.stdin.read()
    server.stop()


def start_llm_server(token_delay: float) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, __file__, "--serve-llm", "--token-delay", str(token_delay)],
                               cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = process.stdout.readline()
    if not line.strip().isdigit():
        process.kill()
        raise SystemExit("the scripted LLM server did not start")
    return process, int(line)


def llm_streams(port: int) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/streams", timeout=10) as answer:
        return json.loads(answer.read())


# ---- setup (Django, in this process) -------------------------------------------------------

def prepare(llm_port: int) -> dict:
    """The bench's workspace, its provider pointing at the scripted server, its two bots
    published with the Chat API on; the name bot of bench/chat_api.py. Their webhook ids and
    keys."""
    name_webhook, name_key = chat_api.prepare_bot()  # django.setup(), PostgreSQL checked
    from django.db import connection

    from flows.models import Bot
    from integrations.chat_api import services
    from integrations.llm.models import LLMProvider
    from integrations.llm.scripted_server import MODELS
    from integrations.llm.services import save_provider

    Workspace = Bot._meta.get_field("workspace").related_model
    workspace, _ = Workspace.objects.get_or_create(slug=WORKSPACE, defaults={"name": "Bench LLM"})
    data = {"base_url": f"http://127.0.0.1:{llm_port}/v1", "api_key": "bench", "models": MODELS,
            "default_model": "Fast", "timeout_seconds": 25}
    # openai's default retries (2), as a real provider's settings would have: a keep-alive
    # connection the scripted server closed just as a burst reuses it is retried, not failed.
    data["max_retries"] = 2
    existing = LLMProvider.objects.filter(workspace=workspace, name=PROVIDER).first()
    save_provider(workspace, data if existing else {"name": PROVIDER, **data}, existing)
    found = {"name": (name_webhook, name_key)}
    for kind, definition in (("llm", LLM_BOT), ("plain", PLAIN_BOT)):
        bot = publish_bot(definition, note="bench/llm_turns.py", workspace=workspace)
        row = services.update_chat_api(bot, enabled=True, rotate_key=True, webhook_url="")
        found[kind] = (row.webhook_id, row.encryption_key)
    connection.close()
    return found


def clean_up() -> None:
    from flows.models import Bot
    from runtime.models import Conversation, EndUser

    bots = Bot.objects.filter(name__in=[LLM_BOT["name"], PLAIN_BOT["name"]])
    Conversation.objects.filter(bot__in=bots).delete()
    EndUser.objects.filter(bot__in=bots).delete()
    chat_api.clean_up()


# ---- the server's memory and threads -------------------------------------------------------

def _status(pid: int) -> dict:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return {"rss_kb": int(fields.get("VmRSS", "0 kB").split()[0]), "threads": int(fields.get("Threads", "0"))}


def server_status(pid: int) -> dict:
    rows = [_status(p) for p in chat_api._process_tree(pid)]
    return {"rss_kb": sum(r.get("rss_kb", 0) for r in rows), "threads": sum(r.get("threads", 0) for r in rows)}


# ---- load generator ------------------------------------------------------------------------

class Conversation:
    """A user of one bot with its conversation's listen stream open."""

    def __init__(self, host, port, webhook_id, key):
        self.host, self.port, self.base, self.key = host, port, f"/chat/{webhook_id}", key
        self.replies: asyncio.Queue = asyncio.Queue()
        self.first_delta: float | None = None

    async def connect(self):
        self.http = chat_api.Http(self.host, self.port)
        await self.http.connect()
        self.used = time.monotonic()

    async def fresh(self):
        """A new request connection when the last one idled long enough for uvicorn to close it
        (its keep-alive timeout is 5 s): done before a burst, outside what is measured."""
        if time.monotonic() - self.used > 2.0:
            self.http.writer.close()
            await self.connect()

    async def open(self):
        await self.connect()
        headers = {"x-user-key": self.key}
        status, body = await self.http.request("POST", f"{self.base}/users/get-or-create", {}, headers)
        if status != 201:
            raise RuntimeError(f"getOrCreateUser answered {status}: {body}")
        status, body = await self.http.request("POST", f"{self.base}/conversations", {}, headers)
        if status != 201:
            raise RuntimeError(f"createConversation answered {status}: {body}")
        self.id = body["conversation"]["id"]
        reader, self.writer, chunked = await chat_api.open_stream(
            self.host, self.port, f"{self.base}/conversations/{self.id}/listen", self.key)
        self.reader_task = asyncio.ensure_future(self._read(reader, chunked))

    async def _read(self, reader, chunked):
        async for signal in chat_api.sse_signals(reader, chunked):
            if signal["type"] == "message_created" and signal["data"]["isBot"]:
                self.replies.put_nowait((time.monotonic(), signal["data"]["payload"].get("text", "")))
            elif self.first_delta is None and streamed_delta(signal):
                self.first_delta = time.monotonic()

    async def turn(self, text: str) -> dict:
        """Send `text`, wait for the bot's answer: when it was sent, answered, first streamed."""
        self.first_delta = None
        sent = time.monotonic()
        status, body = await self.http.request("POST", f"{self.base}/messages", {
            "conversationId": self.id, "payload": {"type": "text", "text": text}}, {"x-user-key": self.key})
        # uvicorn's keep-alive countdown starts when it has answered (createMessage answers
        # after at most CHAT_API_TURN_WAIT_SECONDS, often before the bot's reply).
        self.used = time.monotonic()
        if status != 201:
            raise RuntimeError(f"createMessage answered {status}: {body}")
        answered, reply = await asyncio.wait_for(self.replies.get(), timeout=60)
        return {"sent": sent, "answered": answered, "first_delta": self.first_delta, "reply": reply, "prompt": text}

    def close(self):
        self.reader_task.cancel()
        self.writer.close()
        self.http.writer.close()


async def open_conversations(host, port, webhook_id, secret, n, label) -> list[Conversation]:
    import jwt

    gate = asyncio.Semaphore(20)  # not 200 handshakes at once: this is set-up, not the load

    async def one(i):
        key = jwt.encode({"id": f"llm-bench-{label}-{os.getpid()}-{i}"}, secret, algorithm="HS256")
        conversation = Conversation(host, port, webhook_id, key)
        async with gate:
            await conversation.open()
        return conversation

    return await asyncio.gather(*(one(i) for i in range(n)))


async def burst(conversations, label: str, meter, server_pid: int) -> dict:
    """Every conversation sends one message at once; the server's CPU over the burst, its
    memory and threads sampled every 20 ms, the wall time until the last answer."""
    await asyncio.gather(*(c.fresh() for c in conversations))
    before = server_status(server_pid)
    peak = dict(before)
    done = asyncio.Event()

    async def sample():
        while not done.is_set():
            now = server_status(server_pid)
            peak["rss_kb"] = max(peak["rss_kb"], now["rss_kb"])
            peak["threads"] = max(peak["threads"], now["threads"])
            try:
                await asyncio.wait_for(done.wait(), 0.02)
            except asyncio.TimeoutError:
                pass

    sampler = asyncio.ensure_future(sample())
    meter.start()
    started = time.monotonic()
    pending = [asyncio.ensure_future(c.turn(f"{label} c{i}")) for i, c in enumerate(conversations)]
    finished, unfinished = await asyncio.wait(pending, timeout=60)
    for task in unfinished:
        task.cancel()
    failed = [task.exception() for task in finished if task.exception() is not None]
    if unfinished or failed:
        raise RuntimeError(f"{label}: {len(unfinished)} of {len(pending)} turns unanswered after 60 s"
                           + (f", {len(failed)} failed, e.g. {failed[0]!r}" if failed else ""))
    turns = [task.result() for task in pending]
    wall = max(t["answered"] for t in turns) - started
    cpu = meter.stop()
    done.set()
    await sampler
    return {"turns": turns, "wall": wall, "started": started, "ended": started + wall, "cpu": cpu,
            "rss_before_kb": before["rss_kb"], "rss_peak_kb": peak["rss_kb"],
            "threads_before": before["threads"], "threads_peak": peak["threads"]}


async def run(args, setup, server_pid, llm_port) -> dict:
    import signal

    def dump_tasks():  # `kill -USR1 <pid>`: where a stuck burst waits
        for task in asyncio.all_tasks():
            task.print_stack(limit=6, file=sys.stderr)

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump_tasks)
    host, port = "127.0.0.1", setup["port"]
    meter = chat_api.CpuMeter([server_pid])
    result: dict = {"errors": []}
    llm = await open_conversations(host, port, *setup["bots"]["llm"], args.conversations, "llm")
    plain = await open_conversations(host, port, *setup["bots"]["plain"], args.conversations, "plain")
    try:
        # A warm-up turn of each bot: the builds compiled, the provider's client made.
        say(f"{len(llm)} + {len(plain)} conversations open; warm-up turns")
        for conversation in (llm[0], plain[0]):
            await conversation.fresh()
            await conversation.turn("warm-up")
        llm_streams(llm_port)

        # 1. the Chat API benchmark's users alone
        say(f"{args.chat_users} Chat API users alone")
        name_webhook, name_secret = setup["bots"]["name"]
        alone = await chat_users(args, host, port, name_webhook, name_secret, "alone",
                                 lambda: asyncio.sleep(args.warmup + args.seconds), result["errors"])
        result["p99_alone"] = chat_api.percentile([ms for _, ms in alone], 0.99) if alone else None
        result["chat_alone_turns"] = len(alone)

        # 2. plain bursts, 3. LLM bursts alone, alternating so a neighbour's burst weighs on both
        result["plain"], result["llm"] = [], []
        for round_number in range(args.rounds):
            say(f"burst {round_number + 1} of {args.rounds}: plain, then LLM")
            result["plain"].append(await burst(plain, f"plain r{round_number}", meter, server_pid))
            result["llm"].append(await burst(llm, f"llm r{round_number}", meter, server_pid))
        result["streams"] = llm_streams(llm_port)

        # 4. LLM bursts while the Chat API users talk
        windows = []

        async def llm_load():
            await asyncio.sleep(args.warmup)
            say(f"{args.loaded_rounds} LLM burst(s) beside the Chat API users")
            for round_number in range(args.loaded_rounds):
                windows.append(await burst(llm, f"llm loaded r{round_number}", meter, server_pid))

        beside = await chat_users(args, host, port, name_webhook, name_secret, "beside", llm_load, result["errors"])
        inside = [ms for at, ms in beside if any(w["started"] <= at <= w["ended"] for w in windows)]
        result["llm_loaded"] = windows
        result["p99_beside"] = chat_api.percentile(inside, 0.99) if inside else None
        result["chat_beside_turns"] = len(inside)
        result["streams_loaded"] = llm_streams(llm_port)
    finally:
        for conversation in llm + plain:
            conversation.close()
    return result


async def chat_users(args, host, port, webhook_id, secret, label, until, errors) -> list:
    """bench/chat_api.py's closed-loop users of the name bot while `until()` runs; the
    latencies of turns answered after the warm-up, as (answered at, ms) on time.monotonic."""
    import jwt

    keys = [jwt.encode({"id": f"llm-bench-chat-{label}-{os.getpid()}-{i}"}, secret, algorithm="HS256")
            for i in range(args.chat_users)]
    latencies: list = []
    stop_at = time.perf_counter() + 3600
    measure_from = time.perf_counter() + args.warmup
    users = [asyncio.ensure_future(chat_api.simulated_user(i, host, [port], f"/chat/{webhook_id}", key, stop_at,
                                                           measure_from, latencies, errors))
             for i, key in enumerate(keys)]
    try:
        await until()
    finally:
        # Until every user has stopped: Python 3.11's wait_for can swallow a cancel that
        # arrives as its reply does, and the user would go on for its hour.
        pending = set(users)
        while pending:
            for user in pending:
                user.cancel()
            _, pending = await asyncio.wait(pending, timeout=1)
    # simulated_user stamps with perf_counter; the bursts with monotonic (the scripted
    # server's clock): the same clock on Linux, but convert anyway.
    shift = time.monotonic() - time.perf_counter()
    return [(at + shift, ms) for at, ms in latencies]


# ---- report --------------------------------------------------------------------------------

def summarise(args, result) -> tuple[list[str], list[str]]:
    """The report's lines and the CI bars missed."""
    n, rounds = args.conversations, args.rounds
    answer_s = WORDS * args.token_delay
    lines, missed = [], []

    def cpu_ms(bursts):
        return sum(b["cpu"]["server"] for b in bursts) * 1000 / (n * len(bursts))

    walls = [b["wall"] for b in result["llm"]]
    wall_ratio = max(walls) / answer_s
    provider = [s["end"] - s["start"] for s in result["streams"].values() if "end" in s]
    lines.append(f"LLM turns: {n} conversations at once, each an AI Generate Text turn streaming {WORDS} tokens "
                 f"{args.token_delay * 1000:.0f} ms apart ({answer_s:.1f} s scripted), {rounds} burst(s)")
    lines.append(f"  wall until the last answer: {', '.join(f'{w:.2f}' for w in walls)} s; worst / scripted "
                 f"answer time {wall_ratio:.2f}x (CI bar <= {CHECK_MAX_WALL_RATIO}x; goal: <= {GOAL_WALL_RATIO}x, {GOAL_WALL_SECONDS:.0f} s)")
    if provider:
        lines.append(f"  the scripted server's own streams took {min(provider):.2f}-{max(provider):.2f} s "
                     f"(its lag on this machine, not Flowstudio's)")
    before_ms, after_ms = [], []
    for b in result["llm"]:
        for t in b["turns"]:
            stream = result["streams"].get(t["prompt"], {})
            if "end" in stream:
                before_ms.append((stream["start"] - t["sent"]) * 1000)
                after_ms.append((t["answered"] - stream["end"]) * 1000)
    if before_ms:
        before_ms.sort(), after_ms.sort()
        lines.append(f"  createMessage to the provider's request: min {before_ms[0]:.0f} ms, p50 {chat_api.percentile(before_ms, .5):.0f} ms, max "
                     f"{before_ms[-1]:.0f} ms; the provider's last token to the answer's signal: p50 "
                     f"{chat_api.percentile(after_ms, .5):.0f} ms, max {after_ms[-1]:.0f} ms")
    turn_ms = sorted((t["answered"] - t["sent"]) * 1000 for b in result["llm"] for t in b["turns"])
    lines.append(f"  per turn, createMessage to the answer's signal: p50 {chat_api.percentile(turn_ms, .5):.0f} ms, "
                 f"p99 {chat_api.percentile(turn_ms, .99):.0f} ms, max {turn_ms[-1]:.0f} ms")

    llm_cpu, plain_cpu = cpu_ms(result["llm"]), cpu_ms(result["plain"])
    cpu_ratio = llm_cpu / plain_cpu
    lines.append(f"  server CPU per turn: LLM {llm_cpu:.2f} ms, plain {plain_cpu:.2f} ms (same run, same {n} at once): "
                 f"{llm_cpu - plain_cpu:+.2f} ms beyond the plain turn (goal <= {GOAL_EXTRA_CPU_MS:.0f} ms); "
                 f"ratio {cpu_ratio:.2f}x (CI bar <= {CHECK_MAX_CPU_RATIO}x)")
    plain_walls = [b["wall"] for b in result["plain"]]
    lines.append(f"  plain bursts: the last answer after {', '.join(f'{w:.2f}' for w in plain_walls)} s")

    first = result["llm"][0]
    per_conversation = (first["rss_peak_kb"] - first["rss_before_kb"]) / n
    later = [(b["rss_peak_kb"] - b["rss_before_kb"]) / n for b in result["llm"][1:]]
    lines.append(f"  server memory while {n} turns wait: +{per_conversation:.0f} KiB per waiting conversation in the "
                 f"first burst (RSS {first['rss_before_kb'] / 1024:.0f} -> {first['rss_peak_kb'] / 1024:.0f} MiB)"
                 + (f", +{max(later):.0f} KiB in later ones" if later else ""))
    extra_threads = first["threads_peak"] - first["threads_before"]
    lines.append(f"  server threads: {first['threads_before']} before the first burst, {first['threads_peak']} at most "
                 f"while its turns waited" + (f" (+{(first['rss_peak_kb'] - first['rss_before_kb']) / extra_threads:.0f} "
                                              f"KiB per added thread)" if extra_threads > 0 else ""))

    deltas = [(t["first_delta"], result["streams"].get(t["prompt"], {}).get("first"))
              for b in result["llm"] for t in b["turns"]]
    measured = sorted((d - s) * 1000 for d, s in deltas if d is not None and s is not None)
    if measured:
        p99 = chat_api.percentile(measured, 0.99)
        lines.append(f"  first streamed token, scripted server to client: p50 {chat_api.percentile(measured, .5):.1f} "
                     f"ms, p99 {p99:.1f} ms over {len(measured)} turns (goal <= {GOAL_FIRST_TOKEN_MS:.0f} ms)")
    else:
        lines.append("  first streamed token to the client: not measured yet (no signal of the listen stream carries "
                     "a delta: streaming to clients is not built; see streamed_delta in bench/llm_turns.py)")

    alone, beside = result["p99_alone"], result["p99_beside"]
    lines.append(f"Chat API benchmark's {args.chat_users} users (the name bot, closed loop):")
    if alone is None or beside is None:
        missed.append("the Chat API users measured no turn")
    else:
        p99_ratio = beside / alone
        loaded_walls = [b["wall"] for b in result["llm_loaded"]]
        lines.append(f"  p99 alone {alone:.1f} ms ({result['chat_alone_turns']} turns), during the LLM bursts "
                     f"{beside:.1f} ms ({result['chat_beside_turns']} turns): {p99_ratio:.2f}x "
                     f"(CI bar <= {CHECK_MAX_P99_RATIO}x; goal: p99 < {GOAL_P99_MS:.0f} ms)")
        lines.append(f"  LLM bursts beside them: the last answer after {', '.join(f'{w:.2f}' for w in loaded_walls)} s")
        if p99_ratio > CHECK_MAX_P99_RATIO:
            missed.append(f"Chat API p99 during the LLM load {p99_ratio:.2f}x its p99 alone, over {CHECK_MAX_P99_RATIO}x")
    if wall_ratio > CHECK_MAX_WALL_RATIO:
        missed.append(f"wall {wall_ratio:.2f}x the scripted answer time, over {CHECK_MAX_WALL_RATIO}x")
    if cpu_ratio > CHECK_MAX_CPU_RATIO:
        missed.append(f"CPU per LLM turn {cpu_ratio:.2f}x a plain turn's, over {CHECK_MAX_CPU_RATIO}x")
    cores = os.cpu_count() or 1
    busy = sum(b["cpu"]["machine busy"] for b in result["llm"])
    seconds = sum(walls)
    others = busy - sum(sum(b["cpu"][k] for k in ("server", "postgres", "redis", "load generator"))
                        for b in result["llm"])
    lines.append(f"machine during the LLM bursts: {busy / seconds / cores:.0%} busy of {cores} cores; other processes "
                 f"(the scripted server included) used {max(0.0, others) / seconds:.2f} cores")
    return lines, missed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200, help="conversations whose turns wait at once")
    parser.add_argument("--token-delay", type=float, default=0.04, help=f"seconds between the {WORDS} streamed tokens")
    parser.add_argument("--rounds", type=int, default=5, help="bursts of each kind, the LLM ones alone")
    parser.add_argument("--loaded-rounds", type=int, default=3, help="LLM bursts beside the Chat API users")
    parser.add_argument("--chat-users", type=int, default=20, help="bench/chat_api.py's users of the name bot")
    parser.add_argument("--seconds", type=float, default=15.0, help="the Chat API users measured alone")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true",
                        help="1 burst of each kind, 1 beside the Chat API users, 4 s of the Chat API alone")
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio misses its CI bar")
    parser.add_argument("--serve-llm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_llm:
        serve_llm(args.token_delay)
        return 0
    if args.quick:
        args.rounds, args.loaded_rounds, args.seconds, args.warmup = 1, 1, 4.0, 1.0

    say("starting the scripted LLM server, preparing the bots")
    llm_server, llm_port = start_llm_server(args.token_delay)
    server = None
    try:
        bots = prepare(llm_port)
        # The outbound guard refuses the server's own network unless allowed (a list of
        # hosts, comma-separated: studio/settings.py reads it with env.list).
        os.environ["FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS"] = "127.0.0.1"
        port = chat_api._free_port()
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-llm-turns-{port}.log"
        say("starting the server")
        server = chat_api.start_server("uvicorn", port, log_path)
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        result = asyncio.run(run(args, {"port": port, "bots": bots}, server.pid, llm_port))
    finally:
        say("stopping the servers, removing the bench's conversations")
        if server is not None:
            server.terminate()
            try:  # nothing to finish gracefully: what was measured is in
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        llm_server.stdin.close()
        try:
            llm_server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            llm_server.kill()
        say("servers stopped")
        clean_up()
        say("done")
    bad = [t["reply"] for b in result["llm"] + result["llm_loaded"] for t in b["turns"]
           if not t["reply"].startswith("word1 ")]
    if bad:  # a failed model call answers through the error flow, naming why
        result["errors"].append(f"{len(bad)} LLM turns answered something else, e.g. {bad[0][:200]!r}")
    if result["errors"]:
        print("errors:", *result["errors"][:10], sep="\n  ")
        return 1
    lines, missed = summarise(args, result)
    print("\n".join(lines))
    if missed:
        print("CI bar missed: " + "; ".join(missed))
        return 1 if args.check else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
