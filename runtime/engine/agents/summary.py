"""The Summary Agent: after every turn with a user message it adds that turn to
`conversation.SummaryAgent.transcript` (the user's message and the bot's text replies, as
chat messages) and keeps only the last N turns there; the turns that fall out of the window
are folded into `conversation.SummaryAgent.summary` with one model call. AI cards that use
memory read both (cards/ai_prompt.py `memory_messages`).

The conversation scope is the session's, so the memory ends with the dialog (an end node,
`//state/reset`). A failed summary call fails nothing: the old summary stays, and the
turns it should have taken stay at the head of the transcript to be folded next time."""
from __future__ import annotations

import json

from ..errors import StateLimitError
from ..events import MESSAGE_EVENT_TYPES
from ..llm import LLMCancelled, LLMError, LLMRequest
from .config import SummaryAgentConfig

VARIABLE = "SummaryAgent"
# A transcript never grows past this (JSON, UTF-8), even with turns = 0 ("every turn"):
# the conversation state it lives in is capped at 128 KiB.
TRANSCRIPT_MAX_BYTES = 32 * 1024
# Turns a failed summary call leaves waiting in the transcript; older ones are dropped.
PENDING_TURNS = 10
# Which outputs are the bot's text replies, and the field that holds the text.
REPLY_FIELDS = {"text": "text", "markdown": "markdown"}

INSTRUCTIONS = (
    "You keep the running summary of a conversation between a user and a chatbot. Merge the summary "
    "so far and the exchanges below into one updated summary: who the user is, what they want, the "
    "facts they gave, what was answered or decided. Write plain sentences, no headings. Answer with "
    "the summary only."
)


def _size(value) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _turns(transcript) -> list[list[dict]]:
    """The transcript cut into turns: each starts with a user message."""
    turns: list[list[dict]] = []
    for line in transcript if isinstance(transcript, list) else ():
        if not (isinstance(line, dict) and line.get("role") in ("user", "assistant")
                and isinstance(line.get("content"), str)):
            continue
        if line["role"] == "user" or not turns:
            turns.append([])
        turns[-1].append({"role": line["role"], "content": line["content"]})
    return turns


def _this_turn(rt) -> list[dict] | None:
    if rt.event.get("type") not in MESSAGE_EVENT_TYPES:
        return None
    said = rt.masked_text if rt.masked_text is not None else rt.user_text()
    if not said.strip():
        return None
    replies = [o[REPLY_FIELDS[o.get("type")]] for o in rt.outputs
               if o.get("type") in REPLY_FIELDS and isinstance(o.get(REPLY_FIELDS[o.get("type")]), str)]
    lines = [{"role": "user", "content": said}]
    replies = [r for r in replies if r.strip()]
    if replies:
        # One assistant message per turn, so the transcript reads as user/assistant pairs.
        lines.append({"role": "assistant", "content": "\n".join(replies)})
    return lines


def _window(turns: list[list[dict]], size: int) -> int:
    """How many of the newest turns stay word for word."""
    keep = len(turns) if size == 0 else min(size, len(turns))
    while keep > 1 and _size(turns[-keep:]) > TRANSCRIPT_MAX_BYTES:
        keep -= 1
    return keep


def _fold(rt, config: SummaryAgentConfig, summary: str, turns: list[list[dict]]) -> str:
    exchanges = "\n".join(f"{'User' if line['role'] == 'user' else 'Bot'}: {line['content']}"
                          for turn in turns for line in turn)
    system = INSTRUCTIONS + (f" Keep it under {config.max_tokens} tokens." if config.max_tokens else "")
    response = rt.call_model(LLMRequest(
        messages=({"role": "system", "content": system},
                  {"role": "user", "content": f"Summary so far: {summary or '(none yet)'}\n\nExchanges:\n{exchanges}"}),
        model=config.model, max_tokens=config.max_tokens, card=None, purpose="agent:summary"))
    text = response.text.strip()
    if not text:
        raise LLMError("the model answered with an empty summary", provider=response.provider)
    return text


def record_turn(rt, config: SummaryAgentConfig) -> None:
    if rt.conversation_reset:  # the dialog ended this turn: its memory went with it
        return
    lines = _this_turn(rt)
    if lines is None:
        return
    agent = rt.conversation.get(VARIABLE)
    agent = agent if isinstance(agent, dict) else {}
    summary = agent.get("summary") if isinstance(agent.get("summary"), str) else ""
    turns = _turns(agent.get("transcript")) + [lines]
    keep = _window(turns, config.turns)
    fallen, kept = turns[:len(turns) - keep], turns[len(turns) - keep:]
    if fallen:
        try:
            summary = _fold(rt, config, summary, fallen)
            rt.add_trace("agent_summary", agent="summary", folded=len(fallen))
        except (LLMError, LLMCancelled) as exc:  # the turn is over: a cancel must not lose it
            rt.log("warn", f"Summary Agent: the summary could not be updated, it stays as it was ({exc})",
                   source="agent:summary")
            kept = fallen[-PENDING_TURNS:] + kept
    value = {"summary": summary, "transcript": [line for turn in kept for line in turn]}
    try:
        rt.write_agent_variable("conversation", VARIABLE, value)
    except StateLimitError as exc:
        rt.log("warn", f"Summary Agent: {exc}", source="agent:summary")
