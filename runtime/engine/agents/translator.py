"""The Translator Agent: the bot is written in one language (`botLanguage`), its users write
in theirs. Before NLU it detects the language of an incoming text message offline
(py3langid), keeps it in `user.TranslatorAgent.language` and, when it is not the bot's,
translates the message into the bot's language (the original stays in
`event.payload.originalText`). At the end of the turn it translates the turn's outgoing
texts into the user's language, all of them in one model call. Same language: no call.

A short message ("ok", "merci") says little about its language: the detector's guess is
taken only when it is confident, else the language already known stays. Setting
`user.TranslatorAgent.language` (a code, a card) forces that language: the agent stores
what it detected beside it (`detected`) and no longer overrides a value that differs."""
from __future__ import annotations

import json
import threading

from ..llm import LLMCancelled, LLMError, LLMRequest
from .config import TranslatorBuild

VARIABLE = "TranslatorAgent"
# py3langid's normalised probability under which its guess is not taken (calibrated on
# sentences: "Where is my order?" 0.92, "Quiero cancelar mi pedido" 0.51, "ok" 0.01).
MIN_CONFIDENCE = 0.5
# The outgoing fields translated, by message type; choice values are never touched.
OUTGOING_FIELDS = {"text": "text", "markdown": "markdown", "choice": "text", "dropdown": "text"}

_identifier = None
_identifier_lock = threading.Lock()


def _detector():
    # Loaded once per process on first use (about half a second): bots without the agent never pay.
    global _identifier
    with _identifier_lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of `text`'s language, or None when the detector is not sure."""
    if not text.strip():
        return None
    language, confidence = _detector().classify(text)
    return language if confidence >= MIN_CONFIDENCE and len(language) == 2 else None


def language_name(code: str) -> str:
    try:
        from babel import Locale

        return f"{Locale.parse(code).english_name} ({code})"
    except Exception:  # a code babel does not know: the code alone still tells the model
        return code


def user_language(rt) -> str | None:
    stored = rt.user.get(VARIABLE)
    language = stored.get("language") if isinstance(stored, dict) else None
    return language if isinstance(language, str) and language else None


def translating(rt, translator: TranslatorBuild) -> bool:
    language = user_language(rt)
    return language is not None and language != translator.bot_language


def _remember(rt, stored: dict, text: str) -> None:
    forced = stored.get("language") and stored.get("language") != stored.get("detected")
    if forced:
        return
    detected = detect_language(text)
    if detected is None or stored.get("language") == detected:
        return
    rt.write_agent_variable("user", VARIABLE, {**stored, "language": detected, "detected": detected})


def _answers_sensitive_capture(rt) -> bool:
    """The dialog waits on a capture of sensitive data: the answer (a card number, a code)
    must not go to the model, and there is nothing in it to translate."""
    if rt.waiting is None or not rt.frames:
        return False
    frame = rt.frames[-1]
    flow = rt.build.flows.get(frame["flow"])
    node = flow.nodes.get(frame["node"]) if flow else None
    card = node.cards[frame["card"]] if node and frame["card"] < len(node.cards) else None
    return card is not None and card.id == rt.waiting and bool(getattr(card, "sensitive", False))


def translate_incoming(rt, translator: TranslatorBuild) -> None:
    payload = rt.event.get("payload")
    text = payload.get("text") if isinstance(payload, dict) else None
    if rt.event.get("type") != "text" or not isinstance(text, str) or not text.strip():
        return
    if _answers_sensitive_capture(rt):
        return
    stored = rt.user.get(VARIABLE)
    _remember(rt, stored if isinstance(stored, dict) else {}, text)
    language = user_language(rt)
    if language is None or language == translator.bot_language:
        return
    request = LLMRequest(messages=(
        {"role": "system", "content": f"Translate the user's message from {language_name(language)} into "
                                      f"{language_name(translator.bot_language)}. Keep names, numbers, codes and "
                                      "the tone. Answer with the translation only."},
        {"role": "user", "content": text}), model=translator.config.model, purpose="agent:translator")
    try:
        translated = rt.call_model(request).text.strip()
    except LLMError as exc:
        rt.log("warn", f"Translator Agent: the message was not translated ({exc})", source="agent:translator")
        return
    if not translated:
        return
    # A new payload: the caller's event must stay as it was given.
    rt.event["payload"] = {**payload, "text": translated, "originalText": text}
    if isinstance(rt.event.get("preview"), str):
        rt.event["preview"] = translated
    rt.add_trace("agent_translator", agent="translator", direction="in", source=language,
                 target=translator.bot_language)


def _schema(count: int) -> dict:
    return {"type": "object", "additionalProperties": False, "required": ["translations"],
            "properties": {"translations": {"type": "array", "items": {"type": "string"},
                                            "minItems": count, "maxItems": count}}}


def translate_outgoing(rt, translator: TranslatorBuild) -> None:
    language = user_language(rt)
    if language is None or language == translator.bot_language:
        return
    places = [(i, OUTGOING_FIELDS[o.get("type")]) for i, o in enumerate(rt.outputs)
              if o.get("type") in OUTGOING_FIELDS and isinstance(o.get(OUTGOING_FIELDS[o.get("type")]), str)
              and o[OUTGOING_FIELDS[o.get("type")]].strip()]
    if not places:
        return
    texts = [rt.outputs[i][name] for i, name in places]
    request = LLMRequest(messages=(
        {"role": "system", "content": f"Translate each of a chatbot's messages from "
                                      f"{language_name(translator.bot_language)} into {language_name(language)}. "
                                      "Keep names, numbers, codes, links and Markdown as they are. Answer with "
                                      "JSON: {\"translations\": [one string per message, in order]}."},
        {"role": "user", "content": json.dumps({"messages": texts}, ensure_ascii=False)}),
        model=translator.config.model, response_schema=_schema(len(texts)), purpose="agent:translator")
    try:
        response = rt.call_model(request)
        try:
            translations = json.loads(response.text)["translations"]
        except (ValueError, KeyError, TypeError):
            translations = None
        if (not isinstance(translations, list) or len(translations) != len(texts)
                or not all(isinstance(t, str) for t in translations)):
            raise LLMError(f"the answer is not {len(texts)} translations: {response.text[:200]!r}",
                           provider=response.provider)
    except (LLMError, LLMCancelled) as exc:  # the turn is over: a cancel must not lose it
        rt.log("warn", f"Translator Agent: the replies were sent untranslated ({exc})", source="agent:translator")
        return
    for (i, name), translated in zip(places, translations):
        rt.outputs[i] = {**rt.outputs[i], name: translated}
    rt.add_trace("agent_translator", agent="translator", direction="out", source=translator.bot_language,
                 target=language, messages=len(texts))
