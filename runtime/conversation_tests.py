"""Conversation tests: replay a recorded conversation against the bot and compare, step by
step, what it answers now with what it answered then.

Tests live in the bot file (`tests`, shape checked by `flows.botfile.conversation_tests`).
Each test runs through the real turn service in its own transaction that is rolled back at
the end, so a test run leaves no user, conversation or bot variable behind and nobody
listening live (webchat, Chat API) ever sees it.

LLM calls (docs/conversation-tests.md, "LLM calls"): a test that holds recorded calls
(`{"llm": ...}` steps, and `{"tools": ...}` / `{"tool": ...}` steps for the MCP tools of an
autonomous node, after the input whose turn made them) is replayed offline, each turn
answered by a `ReplayLLM` and a `ReplayTools` over its recorded steps; a request that
differs from the recorded one fails the test with a diff of the prompt, a tool call with
other arguments with the diff of its arguments, a call beyond the recording naming it.
With `record=True` the turns talk to the bot's provider and MCP servers through a
`RecordingLLM` and a `RecordingTools`, and `save_recordings` writes what they saw into the
tests that passed.
"""
from __future__ import annotations

import json
import re
from contextlib import ExitStack
from dataclasses import dataclass, field

from django.db import transaction

from flows import services as flow_services
from runtime import llm_gateway, turns
from runtime.engine.llm_replay import RecordingLLM, ReplayLLM
from runtime.engine.tool_replay import (RECORDING_KINDS, TOOL_KINDS, RecordingTools, ReplayTools, ToolReplayMismatch,
                                        describe_step, recorded_steps_from_trace)
from runtime.models import BotVariable, Conversation, EndUser, Message

TEST_CHANNEL = "test"


@dataclass
class StepResult:
    index: int | None  # None for a reply nobody expected, found after the last step
    kind: str
    expected: str
    received: str
    ok: bool
    message: str = ""
    detail: str = ""  # more lines to show under it: the unified diff of a changed prompt


@dataclass
class TestResult:
    name: str
    target: str  # "draft" or "version N"
    steps: list[StepResult] = field(default_factory=list)
    mode: str = "live"  # "replay" (answered from its recording), "record", or "live"
    llm_calls: int = 0
    tool_calls: int = 0  # MCP tool calls (their tool lists not counted)
    # With record=True: {index of an input step: the llm / tools / tool steps its turn made}.
    recordings: dict[int, list[dict]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def failures(self) -> list[StepResult]:
        return [step for step in self.steps if not step.ok]


class _Rollback(Exception):
    pass


class _Stop(Exception):
    """The rest of the test cannot run: the model's answer it needs is not recorded."""


def run_tests(bot, *, names: list[str] | None = None, draft: bool | None = None,
              record: bool = False) -> list[TestResult]:
    """Run the bot's tests (all, or those named). `draft=None` runs each test where it asks
    (`"draft": true`) or else against the latest published version, or the draft if the bot
    was never published. `record=True` talks to the bot's provider and keeps each turn's
    LLM calls in `TestResult.recordings` (see `save_recordings`)."""
    tests = list((bot.draft or {}).get("tests") or [])
    if names:
        unknown = sorted(set(names) - {t.get("name") for t in tests})
        if unknown:
            raise LookupError(f"bot {bot.name!r} has no test named {', '.join(map(repr, unknown))}")
        tests = [t for t in tests if t.get("name") in names]
    published = bot.latest_version() is not None
    if tests:
        # The tests search the bot's knowledge bases: those sources still queued are indexed
        # first, here, so a bot just imported is tested on its whole knowledge (docs/knowledge.md).
        from runtime.knowledge.indexing import index_waiting

        index_waiting(bot.pk)
    results = []
    for test in tests:
        on_draft = draft if draft is not None else bool(test.get("draft")) or not published
        results.append(run_test(bot, test, draft=on_draft, record=record))
    return results


def run_test(bot, test: dict, *, draft: bool, record: bool = False) -> TestResult:
    result = TestResult(name=test.get("name", "?"), target="draft")
    if record:
        result.mode = "record"
    elif any(isinstance(step, dict) and set(step) & set(RECORDING_KINDS) for step in test.get("steps") or []):
        result.mode = "replay"
    try:
        with transaction.atomic():
            _Run(bot, test, draft, result).run()
            raise _Rollback
    except _Rollback:
        pass
    return result


def with_recordings(test: dict, recordings: dict[int, list[dict]]) -> dict:
    """`test` with its recorded LLM and tool steps replaced by `recordings` (by input step index)."""
    steps = []
    for index, step in enumerate(test.get("steps") or []):
        if set(step) & set(RECORDING_KINDS):
            continue
        steps.append(step)
        steps += recordings.get(index, [])
    return {**test, "steps": steps}


def save_recordings(bot, results: list[TestResult], *, base_revision: int | None, user=None) -> list[str]:
    """Write the LLM calls recorded by `run_tests(record=True)` into the draft's tests, for
    the tests that passed (a failing run is no reference). The names of the tests changed.
    `base_revision`: the draft's revision when the run started; StaleRevision if it moved
    since (the recording may be of a prompt that is no longer there)."""
    bot.refresh_from_db(fields=["draft", "layout", "draft_revision"])
    document = flow_services.draft_document(bot)
    by_name = {r.name: r for r in results if r.mode == "record" and r.passed}
    changed, tests = [], []
    for test in document.get("tests") or []:
        result = by_name.get(test.get("name"))
        updated = with_recordings(test, result.recordings) if result is not None else test
        if updated != test:
            changed.append(test["name"])
        tests.append(updated)
    if changed:
        document["tests"] = tests
        flow_services.replace_draft(bot, document, base_revision=base_revision, user=user)
    return changed


class _Run:
    def __init__(self, bot, test: dict, draft: bool, result: TestResult):
        self.bot = bot
        self.steps = test.get("steps") or []
        self.result = result
        user = turns.get_or_create_user(bot)
        self.conversation = turns.start_conversation(bot, user, draft=draft, channel=TEST_CHANNEL)
        self.loaded = flow_services.get_build(bot, draft=draft)
        if not draft:
            result.target = f"version {self.loaded.version.number}"
        self.pending: list[dict] = []  # replies of the last input not yet matched

    def run(self) -> None:
        try:
            for index, step in enumerate(self.steps):
                if "user" in step or "event" in step or "timeout" in step:
                    self._unexpected_replies()
                    self._send(index, step)
                elif "bot" in step:
                    self._expect_reply(index, step["bot"])
                elif "variable" in step:
                    self._check_variable(index, step)
            self._unexpected_replies()
        except _Stop:
            pass

    # --- inputs --------------------------------------------------------------------------

    def _recorded_after(self, index: int, kinds: tuple[str, ...]) -> list[tuple[int, dict]]:
        """The recorded steps of `kinds` of the input at `index`, up to the next input."""
        found = []
        for at in range(index + 1, len(self.steps)):
            step = self.steps[at]
            if set(step) & {"user", "event", "timeout"}:
                break
            if set(step) & set(kinds):
                found.append((at, step))
        return found

    def _send(self, index: int, step: dict) -> None:
        mode = self.result.mode
        if mode == "live":
            self._turn(index, step)
            return
        with ExitStack() as answering:
            if mode == "replay":
                calls = [(at, s["llm"]) for at, s in self._recorded_after(index, ("llm",))]
                exchanges = self._recorded_after(index, TOOL_KINDS)
                problems: list = []  # the LLM's and the tools' in the order they happened
                llm = ReplayLLM([exchange for _, exchange in calls], where=f"step {index + 1}", problems=problems)
                # Always a replaying host, recorded steps or not: a replay sends no request.
                tools = ReplayTools([s for _, s in exchanges], where=f"step {index + 1}", problems=problems)
            else:
                recorded: list[dict] = []  # the turn's llm, tools and tool steps, in call order
                llm = RecordingLLM(llm_gateway.for_bot(self.bot.pk), steps=recorded)
                host = llm_gateway.tools_for_bot(self.bot.pk)
                tools = RecordingTools(host, steps=recorded) if host is not None else None
            answering.enter_context(llm_gateway.answering_with(llm))
            if tools is not None:
                answering.enter_context(llm_gateway.tools_answering_with(tools))
            self._turn(index, step)
        if mode == "record":
            self.result.recordings[index] = recorded
            self.result.llm_calls += len(llm.exchanges)
            self.result.tool_calls += sum("tool" in s for s in recorded)
            return
        self.result.llm_calls += min(llm.calls, len(calls))
        self.result.tool_calls += tools.calls
        if problems:
            # What the turn did after an unknown answer (the model's or a tool's) says
            # nothing: only the mismatches are reported, and the test stops here.
            self.result.steps = [s for s in self.result.steps if not (s.index == index and s.kind == "input")]
            # After a tool mismatch the model read an error instead of the recorded result:
            # its next request differs for that reason alone, so the tool's is the last reported.
            tool = next((i for i, p in enumerate(problems) if isinstance(p, ToolReplayMismatch)), None)
            for problem in problems if tool is None else problems[:tool + 1]:
                self.result.steps.append(self._mismatch(index, problem, calls, exchanges))
            self.pending = []
            raise _Stop
        for number, (at, exchange) in enumerate(calls[llm.calls:], start=llm.calls + 1):
            who = f" (card {exchange['card']!r})" if exchange.get("card") else ""
            self.result.steps.append(StepResult(at, "llm", f"LLM call {number}{who}", "(not made)", False,
                                                "the bot no longer makes this recorded LLM call"))
        for at, exchange in exchanges[tools.used:]:
            self.result.steps.append(StepResult(at, next(k for k in TOOL_KINDS if k in exchange),
                                                describe_step(exchange), "(not made)", False,
                                                "the bot no longer makes this recorded MCP tool exchange"))

    @staticmethod
    def _mismatch(index: int, problem, calls: list, exchanges: list) -> StepResult:
        if isinstance(problem, ToolReplayMismatch):
            at, kind = index, "tool"  # beyond the recording: the input's own step
            if problem.call <= len(exchanges):
                at, recorded = exchanges[problem.call - 1]
                kind = next(k for k in TOOL_KINDS if k in recorded)
            return StepResult(at, kind, problem.expected, problem.received, False, problem.message, problem.diff)
        at = calls[problem.call - 1][0] if problem.call <= len(calls) else index
        expected, received = (("the recorded request", "a different request") if problem.diff else
                              (f"{len(calls)} recorded LLM call(s)", f"LLM call {problem.call}"))
        return StepResult(at, "llm", expected, received, False, problem.message, problem.diff)

    def _turn(self, index: int, step: dict) -> None:
        if "timeout" in step:
            outcome, said = turns.fire_timeout(self.conversation), "(inactivity timeout)"
        else:
            if "user" in step:
                value = step["user"]
                event_type, payload = ("text", {"text": value}) if isinstance(value, str) else \
                    (value["type"], {k: v for k, v in value.items() if k != "type"})
            else:
                event_type, payload = step["event"]["type"], dict(step["event"].get("payload") or {})
            said = _describe({"type": event_type, **payload})
            event = turns.receive_event(self.conversation, event_type, payload)
            outcome = turns.process_event_now(event)
        self.pending = list(outcome.outputs)
        if outcome.failed:
            self.result.steps.append(StepResult(index, "input", said, f"turn failed: {outcome.error}", False,
                                                "the bot failed while handling this input"))

    # --- checks --------------------------------------------------------------------------

    def _expect_reply(self, index: int, expected) -> None:
        wanted = _describe_expectation(expected)
        if not self.pending:
            self.result.steps.append(StepResult(index, "bot", wanted, "(no reply)", False,
                                                "the bot sent no more replies"))
            return
        reply = self.pending.pop(0)
        ok, why = _reply_matches(expected, reply)
        self.result.steps.append(StepResult(index, "bot", wanted, _describe(reply), ok, why))

    def _check_variable(self, index: int, step: dict) -> None:
        name = step["variable"]
        found, value = self._read_variable(name)
        received = _json(value) if found else "(not set)"
        if "equals" in step:
            expected = f"{name} = {_json(step['equals'])}"
            ok = found and value == step["equals"]
        else:
            expected = f"{name} matches /{step['matches']}/"
            ok = found and re.search(step["matches"], value if isinstance(value, str) else _json(value)) is not None
        self.result.steps.append(StepResult(index, "variable", expected, f"{name} = {received}", ok,
                                            "" if ok else "the variable does not hold the expected value"))

    def _unexpected_replies(self) -> None:
        for reply in self.pending:
            self.result.steps.append(StepResult(None, "bot", "(no more replies)", _describe(reply), False,
                                                "the bot sent a reply the test does not expect"))
        self.pending = []

    def _read_variable(self, name: str):
        scope, _, key = name.partition(".")
        path = key.split(".")
        conversation = Conversation.objects.get(pk=self.conversation.pk)
        state = conversation.state or {}
        if scope == "user":
            user = EndUser.objects.get(pk=conversation.user_id)
            values = {**self.loaded.build.user_defaults(), **(user.variables or {})}
        elif scope == "bot":
            stored = BotVariable.objects.filter(bot_id=self.bot.pk, is_draft=conversation.is_draft)
            values = {**self.loaded.build.bot_defaults(), **dict(stored.values_list("name", "value"))}
        elif scope == "session":
            values = state.get("session") or {}
        elif scope == "conversation":
            values = state.get("conversation") or {}
        else:
            frames = state.get("frames") or []
            values = frames[-1].get("vars", {}) if frames else {}
        for part in path:
            if not isinstance(values, dict) or part not in values:
                return False, None
            values = values[part]
        return True, values


def _reply_matches(expected, reply: dict) -> tuple[bool, str]:
    text = reply.get("text")
    if isinstance(expected, str):
        if text == expected:
            return True, ""
        return False, "the reply's text differs" if isinstance(text, str) else f"the reply is a {reply.get('type')}, not text"
    if "regex" in expected:
        subject = text if isinstance(text, str) else _describe(reply)
        if re.search(expected["regex"], subject or ""):
            return True, ""
        return False, "the reply's text does not match the regular expression"
    differing = [key for key, value in expected.items() if reply.get(key) != value]
    if not differing:
        return True, ""
    return False, f"the reply differs in {', '.join(differing)}"


def _describe(output: dict) -> str:
    kind = output.get("type", "text")
    if kind == "text" and isinstance(output.get("text"), str):
        return output["text"]
    rest = {k: v for k, v in output.items() if k != "type"}
    return f"[{kind}] {_json(rest)}"


def _describe_expectation(expected) -> str:
    if isinstance(expected, str):
        return expected
    if "regex" in expected:
        return f"/{expected['regex']}/"
    return _describe(expected)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def format_results(results: list[TestResult]) -> str:
    """A readable report: one line per test, and for each failure expected vs received."""
    lines = []
    for result in results:
        calls = ""
        if result.llm_calls or result.tool_calls or result.mode == "replay":
            done = {"replay": "replayed", "record": "recorded"}.get(result.mode, "live")
            tools = (f" and {result.tool_calls} MCP tool call{'s' if result.tool_calls != 1 else ''}"
                     if result.tool_calls else "")
            calls = f", {result.llm_calls} LLM call{'s' if result.llm_calls != 1 else ''}{tools} {done}"
        lines.append(f"{'PASS' if result.passed else 'FAIL'}  {result.name}  ({result.target}{calls})")
        for step in result.failures:
            where = f"step {step.index + 1}" if step.index is not None else "after the last step"
            lines.append(f"      {where}: {step.message}")
            lines.append(f"        - expected: {step.expected}")
            lines.append(f"        + received: {step.received}")
            lines += [f"          {line}" for line in step.detail.splitlines()]
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} of {len(results)} test{'s' if len(results) != 1 else ''} passed")
    return "\n".join(lines)


def steps_from_transcript(conversation: Conversation, *, variables: list[str] | None = None) -> list[dict]:
    """Turn a stored conversation into test steps: what the user sent, the LLM calls and MCP
    tool exchanges its turn made (from the event's trace), then exactly what the bot answered
    (the emulator's "Save as test"). `variables` adds equality checks of their current values
    at the end."""
    steps: list[dict] = []
    for message in Message.objects.filter(conversation=conversation).select_related("event").order_by("seq"):
        output = message.as_output()
        if message.direction == Message.Direction.INCOMING:
            steps.append({"user": output["text"]} if message.type == "text" else {"user": output})
            # The model's and the tools' answers the turn got, from its trace, so the test
            # replays offline.
            trace = message.event.trace if message.event is not None else None
            steps += recorded_steps_from_trace(trace or [])
            continue
        # How a reply was delivered (streamed under an id) is no part of what the bot said.
        output.pop("streamId", None)
        if output.get("type") == "text" and set(output) <= {"type", "text"}:
            steps.append({"bot": output["text"]})
        else:
            steps.append({"bot": output})
    if variables:
        reader = _Run.__new__(_Run)
        reader.bot, reader.conversation = conversation.bot, conversation
        reader.loaded = flow_services.get_build(conversation.bot, draft=conversation.is_draft)
        for name in variables:
            found, value = reader._read_variable(name)
            if found:
                steps.append({"variable": name, "equals": value})
    return steps
