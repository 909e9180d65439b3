"""The bot file's `agents` object: one pydantic model per agent (the editor's forms and the
bot file's JSON Schema are generated from them, flows/botfile/schema.py), compiled once
per build into an `AgentsBuild` the turn reads."""
from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from ..errors import Problem

DEFAULT_POLICY_MESSAGE = "Sorry, I can't help with that."


class _AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class SummaryAgentConfig(_AgentConfig):
    """Keeps `conversation.SummaryAgent`: the last turns word for word (`transcript`) and what
    happened before them in a few sentences (`summary`), for AI cards that use memory."""

    enabled: bool = Field(default=False, title="Enabled")
    turns: int = Field(default=3, ge=0, le=50, title="Turns in the transcript",
                       description="How many recent turns are kept word for word; older ones are folded "
                                   "into the summary. 0: every turn of the session (up to 32 KiB).")
    model: str = Field(default="", max_length=200, title="Model",
                       description="A model id or label for summarising; empty for the bot's default model.")
    max_tokens: int | None = Field(default=None, ge=1, le=100_000, title="Max tokens",
                                   description="The longest summary the model may write.")


class PolicyAgentConfig(_AgentConfig):
    """A gate on the model's free-text answers: one that breaks a rule never reaches the user
    or a variable; the user gets `message` instead."""

    enabled: bool = Field(default=False, title="Enabled")
    blocked_keywords: list[str] = Field(default_factory=list, max_length=500, title="Blocked keywords",
                                        description="Words or phrases an answer may not contain "
                                                    "(whole words, any letter case).")
    blocked_patterns: list[str] = Field(default_factory=list, max_length=100, title="Blocked patterns",
                                        description="Regular expressions (Python syntax) an answer may not match.")
    policies: list[str] = Field(default_factory=list, max_length=50, title="Policies",
                                description="Rules in plain words, e.g. 'Never give medical advice'; "
                                            "checked by one more model call per answer.")
    message: str = Field(default=DEFAULT_POLICY_MESSAGE, min_length=1, max_length=2_000, title="Message",
                         description="What the user gets instead of an answer that breaks a rule.")
    model: str = Field(default="", max_length=200, title="Model",
                       description="The model that checks the policies; empty for the bot's default model.")


class TranslatorAgentConfig(_AgentConfig):
    """Talks to every user in their own language while the bot is written in one."""

    enabled: bool = Field(default=False, title="Enabled")
    bot_language: str | None = Field(default=None, pattern=r"^[a-z]{2}$", title="Bot language",
                                     description="The language the bot is written in (ISO 639-1); "
                                                 "empty: the bot's default language.")
    model: str = Field(default="", max_length=200, title="Model",
                       description="The model that translates; empty for the bot's default model.")


class AgentsConfig(_AgentConfig):
    summary: SummaryAgentConfig = Field(default_factory=SummaryAgentConfig, title="Summary Agent")
    policy: PolicyAgentConfig = Field(default_factory=PolicyAgentConfig, title="Policy Agent")
    translator: TranslatorAgentConfig = Field(default_factory=TranslatorAgentConfig, title="Translator Agent")


@dataclass(frozen=True)
class PolicyBuild:
    config: PolicyAgentConfig
    # (keyword as written, its whole-word regex), (pattern as written, compiled)
    keywords: tuple[tuple[str, re.Pattern], ...]
    patterns: tuple[tuple[str, re.Pattern], ...]


@dataclass(frozen=True)
class TranslatorBuild:
    config: TranslatorAgentConfig
    bot_language: str


@dataclass(frozen=True)
class AgentsBuild:
    """The enabled agents of a bot; None for one that is off (the default for all three)."""

    summary: SummaryAgentConfig | None = None
    policy: PolicyBuild | None = None
    translator: TranslatorBuild | None = None


AGENTS_OFF = AgentsBuild()


def _path(loc: tuple) -> str:
    return "$.agents" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def _plain(err: dict) -> str:
    if err.get("type") == "extra_forbidden":
        return "is not a setting of this agent" if len(err["loc"]) > 1 else \
            "is not an agent; the agents are summary, policy and translator"
    msg = err.get("msg") or "is invalid"
    return msg[0].lower() + msg[1:]


def _keyword_regex(keyword: str) -> re.Pattern:
    # Whole words only, so "ass" does not block "class"; lookarounds rather than \b so a
    # keyword that starts or ends with punctuation still matches.
    return re.compile(r"(?<!\w)" + re.escape(keyword.strip()) + r"(?!\w)", re.IGNORECASE)


def _policy(config: PolicyAgentConfig, problems: list[Problem]) -> PolicyBuild:
    keywords = []
    for i, keyword in enumerate(config.blocked_keywords):
        if not keyword.strip():
            problems.append(Problem(f"$.agents.policy.blockedKeywords[{i}]", "is empty; a keyword needs a word"))
            continue
        keywords.append((keyword, _keyword_regex(keyword)))
    patterns = []
    for i, pattern in enumerate(config.blocked_patterns):
        path = f"$.agents.policy.blockedPatterns[{i}]"
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            problems.append(Problem(path, f"{pattern!r} is not a valid regular expression: {error}"))
            continue
        if compiled.search("") is not None:
            problems.append(Problem(path, f"{pattern!r} matches an empty text, so it would block every answer"))
            continue
        patterns.append((pattern, compiled))
    for i, policy in enumerate(config.policies):
        if not policy.strip():
            problems.append(Problem(f"$.agents.policy.policies[{i}]", "is empty; a policy is a rule in plain words"))
    return PolicyBuild(config, tuple(keywords), tuple(patterns))


def compile_agents(value, default_language: str, problems: list[Problem]) -> AgentsBuild:
    """The bot file's `agents` object → AgentsBuild; what is wrong goes to `problems` with
    its JSON path (a bad blocked pattern is named with the regex error)."""
    if value is None:
        return AGENTS_OFF
    if not isinstance(value, dict):
        problems.append(Problem("$.agents", "must be an object: {\"summary\": ..., \"policy\": ..., \"translator\": ...}"))
        return AGENTS_OFF
    try:
        config = AgentsConfig.model_validate(value)
    except ValidationError as exc:
        problems.extend(Problem(_path(e["loc"]), _plain(e)) for e in exc.errors(include_url=False))
        return AGENTS_OFF
    # Checked even while the agent is off, so turning it on never breaks a published bot.
    policy = _policy(config.policy, problems)
    translator = (TranslatorBuild(config.translator, config.translator.bot_language or default_language)
                  if config.translator.enabled else None)
    return AgentsBuild(summary=config.summary if config.summary.enabled else None,
                       policy=policy if config.policy.enabled else None, translator=translator)


def agent_problems(definition: dict) -> list[tuple[str, str]]:
    """What the bot file's JSON Schema cannot see in `agents` (a blocked pattern that is not a
    regular expression, an empty keyword), as (JSON path, message), for the bot-file
    validator; the schema itself reports the rest."""
    value = definition.get("agents") if isinstance(definition, dict) else None
    try:
        config = AgentsConfig.model_validate(value if isinstance(value, dict) else {})
    except ValidationError:
        return []
    problems: list[Problem] = []
    _policy(config.policy, problems)
    return [(p.path, p.message) for p in problems]
