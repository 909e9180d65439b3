"""A bot's Webchat settings: checking what the owner typed, and the configuration object
the widget receives (`config.js`, `window.botpress.init({configuration})`).

The names the page sees follow Botpress webchat v3 (`botName`, `botAvatar`, `color`,
`themeMode`, `storageLocation`, `additionalStylesheet`, ...); docs/webchat.md lists them.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from . import origins
from .models import WebchatSettings

DEFAULT_PLACEHOLDER = "Type your message..."
DEFAULT_UPLOAD_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"]
MAX_UPLOAD_MB = 25
MAX_CUSTOM_CSS = 50_000
MAX_ORIGINS = 50
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_PHONE = re.compile(r"^[0-9+()\-. ]{3,50}$")
_MIME = re.compile(r"^[a-z]+/([a-z0-9.+-]+|\*)$")
TEXT_LIMITS = {"bot_name": 100, "description": 300, "composer_placeholder": 200}
URL_FIELDS = ("avatar_url", "website", "terms_url", "privacy_url")
BOOLEAN_FIELDS = ("show_button", "show_timestamps", "file_upload_enabled", "identity_required")


class SettingsInvalid(ValueError):
    """`errors` maps each bad field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


def apply_changes(settings: WebchatSettings, changes: dict) -> None:
    """Check every field in `changes` and set them all, or raise SettingsInvalid naming each
    bad field and set none. Does not save."""
    cleaned, errors = {}, {}
    for name, value in changes.items():
        check = _CHECKS.get(name)
        if check is None:
            errors[name] = "is not a webchat setting"
            continue
        try:
            cleaned[name] = check(name, value)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise SettingsInvalid(errors)
    for name, value in cleaned.items():
        setattr(settings, name, value)


def _text(name, value):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("must be text")
    value = value.strip()
    limit = TEXT_LIMITS[name]
    if len(value) > limit:
        raise ValueError(f"must be at most {limit} characters (got {len(value)})")
    return value


def _url(name, value):
    value = _text_any(value)
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} must be an http:// or https:// address")
    if len(value) > 1000:
        raise ValueError("must be at most 1000 characters")
    return value


def _text_any(value):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value.strip()


def _email(name, value):
    value = _text_any(value)
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise ValueError(f"{value!r} is not an email address") from None
    return value


def _phone(name, value):
    value = _text_any(value)
    if value and not _PHONE.match(value):
        raise ValueError(f"{value!r} is not a phone number (digits, spaces and + ( ) - . only)")
    return value


def _color(name, value):
    value = _text_any(value)
    if not _COLOR.match(value):
        raise ValueError(f"{value!r} must be a hex colour like #3276EA")
    return value.upper()


def _choice(choices):
    def check(name, value):
        if value not in choices:
            raise ValueError(f"{value!r} must be one of {', '.join(choices)}")
        return value
    return check


def _boolean(name, value):
    if isinstance(value, bool):
        return value
    if value in ("on", "true", "1", 1):
        return True
    if value in ("off", "false", "0", 0, "", None):
        return False
    raise ValueError(f"{value!r} must be true or false")


def _css(name, value):
    value = _text_any(value)
    if len(value) > MAX_CUSTOM_CSS:
        raise ValueError(f"must be at most {MAX_CUSTOM_CSS} characters (got {len(value)})")
    return value


def _lines(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", "\n").splitlines()
    if not isinstance(value, (list, tuple)):
        raise ValueError("must be a list (one entry per line)")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"{item!r} must be text")
        if item.strip():
            out.append(item.strip())
    return out


def _origins(name, value):
    entries = _lines(value)
    if len(entries) > MAX_ORIGINS:
        raise ValueError(f"at most {MAX_ORIGINS} origins")
    cleaned, problems = [], []
    for entry in entries:
        try:
            origin = origins.normalise(entry)
        except origins.OriginInvalid as exc:
            problems.append(str(exc))
            continue
        if origin not in cleaned:
            cleaned.append(origin)
    if problems:
        raise ValueError("; ".join(problems))
    return cleaned


def _upload_types(name, value):
    entries = [entry.lower() for entry in _lines(value)]
    bad = [entry for entry in entries if not _MIME.match(entry)]
    if bad:
        raise ValueError(f"{', '.join(map(repr, bad))}: each entry must be a media type like image/png or image/*")
    return list(dict.fromkeys(entries))


def _upload_size(name, value):
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} must be a whole number of megabytes") from None
    if not 1 <= size <= MAX_UPLOAD_MB:
        raise ValueError(f"must be between 1 and {MAX_UPLOAD_MB} MB (got {size})")
    return size


_CHECKS = {
    "bot_name": _text,
    "description": _text,
    "composer_placeholder": _text,
    **{name: _url for name in URL_FIELDS},
    "email": _email,
    "phone": _phone,
    "primary_color": _color,
    "theme": _choice(WebchatSettings.Theme.values),
    "font_family": _choice(WebchatSettings.Font.values),
    "storage": _choice(WebchatSettings.Storage.values),
    **{name: _boolean for name in BOOLEAN_FIELDS},
    "custom_css": _css,
    "allowed_origins": _origins,
    "upload_types": _upload_types,
    "max_upload_mb": _upload_size,
}
EDITABLE_FIELDS = tuple(_CHECKS)


def upload_types(settings: WebchatSettings) -> list[str]:
    return list(settings.upload_types or DEFAULT_UPLOAD_TYPES)


def widget_configuration(settings: WebchatSettings) -> dict:
    """What the page may know: never the origins list or the identity secret."""
    bot_name = settings.bot_name or settings.bot.name

    def link(title, target):
        return {"title": title, "link": target} if target else None

    return {
        "botName": bot_name,
        "botAvatar": settings.avatar_url,
        "botDescription": settings.description,
        "composerPlaceholder": settings.composer_placeholder or DEFAULT_PLACEHOLDER,
        "color": settings.primary_color,
        "themeMode": settings.theme,
        "fontFamily": settings.font_family,
        "website": link(settings.website, settings.website),
        "email": link(settings.email, f"mailto:{settings.email}" if settings.email else ""),
        "phone": link(settings.phone, f"tel:{settings.phone.replace(' ', '')}" if settings.phone else ""),
        "termsOfService": link("Terms of service", settings.terms_url),
        "privacyPolicy": link("Privacy policy", settings.privacy_url),
        "showButton": settings.show_button,
        "showTimestamp": settings.show_timestamps,
        "storageLocation": settings.storage,
        "additionalStylesheet": settings.custom_css,
        "allowFileUpload": settings.file_upload_enabled,
        "maxFileSizeMb": settings.max_upload_mb,
        "fileTypes": upload_types(settings),
    }
