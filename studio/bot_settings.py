"""The Chatbot settings page's service (docs/dashboard.md, "Chatbot settings"): the draft's
`settings` section of the bot file read for a form and written back through
`flows.services.patch_draft_section`, so the bot file validator has the last word and
every other setting (timezone, intent confidence) stays as it was. Like any draft change,
conversations get it when the bot is next published."""
from __future__ import annotations

from flows import services
from flows.botfile.problems import BotFileInvalid
from runtime.engine.build import DEFAULT_SETTINGS
from studio.llm_providers import model_choices

FIELDS = ["inactivityTimeoutMinutes", "nodeRepetitionLimit", "languages", "defaultLanguage", "fallbackMessage",
          "llmProvider", "llmModel"]


class Invalid(ValueError):
    """Field name (as in the form) -> message."""

    def __init__(self, errors: dict):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


def current(bot) -> dict:
    """The form's values: what the draft says, else the engine's default."""
    stored = bot.draft.get("settings") if isinstance(bot.draft.get("settings"), dict) else {}
    merged = {**DEFAULT_SETTINGS, **stored}
    llm = stored.get("llm") if isinstance(stored.get("llm"), dict) else {}
    return {"inactivityTimeoutMinutes": merged["inactivityTimeoutMinutes"],
            "nodeRepetitionLimit": merged["nodeRepetitionLimit"],
            "languages": ", ".join(merged["languages"]) if isinstance(merged["languages"], list) else "",
            "defaultLanguage": merged["defaultLanguage"], "fallbackMessage": merged["fallbackMessage"],
            "llmProvider": llm.get("provider", ""), "llmModel": llm.get("model", "")}


def providers(bot) -> list[dict]:
    return model_choices(bot.workspace)["providers"]


def _whole(form, name: str, low: int, high: int, errors: dict):
    raw = str(form.get(name, "")).strip()
    try:
        value = int(raw)
    except ValueError:
        errors[name] = f"{raw!r} is not a whole number" if raw else "required"
        return None
    if not low <= value <= high:
        errors[name] = f"{value} is out of range: use {low} to {high}"
        return None
    return value


def settings_from(form, stored: dict, provider_names: list[str]) -> dict:
    """The new `settings` section from the form's fields; Invalid names every bad field."""
    errors: dict = {}
    for name in FIELDS:
        value = str(form.get(name, ""))
        # PostgreSQL's jsonb cannot store NUL (it would be a database error, a 500). A lone
        # surrogate cannot reach here: a form body is UTF-8, which cannot encode one.
        if "\x00" in value:
            errors[name] = "contains the NUL character, which cannot be stored"
    if errors:
        raise Invalid(errors)
    out = {key: value for key, value in stored.items() if key not in ("llm",)}
    out["inactivityTimeoutMinutes"] = _whole(form, "inactivityTimeoutMinutes", 0, 1440, errors)
    out["nodeRepetitionLimit"] = _whole(form, "nodeRepetitionLimit", 1, 100, errors)
    codes = [code.strip().lower() for code in str(form.get("languages", "")).replace(";", ",").split(",") if code.strip()]
    from flows.botfile.languages import ISO_639_1

    unknown = [code for code in codes if code not in ISO_639_1]
    if not codes:
        errors["languages"] = "name at least one language (ISO 639-1 codes such as en, fr)"
    elif unknown:
        errors["languages"] = f"not ISO 639-1 codes: {', '.join(unknown)} (use two letters such as en, fr, de)"
    elif len(set(codes)) != len(codes):
        errors["languages"] = "a language is listed twice"
    out["languages"] = codes
    default = str(form.get("defaultLanguage", "")).strip().lower()
    if not default:
        errors["defaultLanguage"] = "required"
    elif "languages" not in errors and default not in codes:
        errors["defaultLanguage"] = f"{default!r} is not one of the languages ({', '.join(codes)})"
    out["defaultLanguage"] = default
    fallback = str(form.get("fallbackMessage", ""))
    if len(fallback) > 2000:
        errors["fallbackMessage"] = f"{len(fallback)} characters; at most 2000"
    out["fallbackMessage"] = fallback.strip()
    provider, model = str(form.get("llmProvider", "")).strip(), str(form.get("llmModel", "")).strip()
    if provider and provider not in provider_names:
        errors["llmProvider"] = (f"the workspace has no LLM provider named {provider!r}"
                                 + (f"; it has {', '.join(provider_names)}" if provider_names else "; it has none"))
    if len(model) > 200:
        errors["llmModel"] = "at most 200 characters"
    llm = {key: value for key, value in (("provider", provider), ("model", model)) if value}
    if llm:
        out["llm"] = llm
    if errors:
        raise Invalid(errors)
    return out


# Bot file paths of the settings section -> the form's field names.
_FIELD_OF_PATH = {"llm": "llmProvider"}


def save(bot, form, *, user=None):
    """Validate the form and store it as the draft's settings (audited as a bot.update)."""
    stored = bot.draft.get("settings") if isinstance(bot.draft.get("settings"), dict) else {}
    names = [provider["name"] for provider in providers(bot)]
    new = settings_from(form, stored, names)
    try:
        return services.patch_draft_section(bot, "settings", new, user=user, part="settings")
    except BotFileInvalid as exc:
        errors = {}
        for problem in exc.problems:
            key = problem.path.removeprefix("$.settings").lstrip(".").split(".")[0].split("[")[0]
            field = _FIELD_OF_PATH.get(key, key if key in FIELDS else "settings")
            errors.setdefault(field, problem.message)
        raise Invalid(errors) from None
