"""Allowed origins: which web pages may embed a bot's widget.

An entry is an origin (`https://shop.example.com`, `http://localhost:3000`) or a wildcard
for the subdomains of one (`https://*.example.com`, which does not match the bare
`https://example.com`). Scheme, host and port must all match; default ports are implied.
An empty list allows every origin. The studio's own pages (share page, settings preview)
are always allowed.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$")


class OriginInvalid(ValueError):
    pass


def normalise(entry: str) -> str:
    """`scheme://host[:port]` in lower case without a default port; OriginInvalid says why not."""
    if not isinstance(entry, str) or not entry.strip():
        raise OriginInvalid("an origin must be a non-empty text like https://shop.example.com")
    text = entry.strip().rstrip("/").lower()
    parts = urlsplit(text)
    if parts.scheme not in DEFAULT_PORTS:
        raise OriginInvalid(f"{entry!r} must start with http:// or https://")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise OriginInvalid(f"{entry!r} is not an origin: give only scheme, host and port, no path")
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    try:
        port = parts.port
    except ValueError:
        raise OriginInvalid(f"{entry!r} has an invalid port") from None
    if not host or not _HOST.match(host):
        raise OriginInvalid(f"{entry!r} has an invalid host name")
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def matches(pattern: str, origin: str) -> bool:
    if pattern == origin:
        return True
    if "://*." not in pattern:
        return False
    scheme, rest = pattern.split("://*.", 1)
    try:
        candidate = normalise(origin)
    except OriginInvalid:
        return False
    candidate_scheme, candidate_rest = candidate.split("://", 1)
    return candidate_scheme == scheme and candidate_rest.endswith("." + rest)


def is_allowed(allowed: list[str], origin: str | None, *, own_host: str | None = None) -> bool:
    """`origin` is the browser's Origin header (None when the client sent none); `own_host`
    the Host the request was made to, so the studio's own pages always pass."""
    if origin and own_host and _netloc(origin) == own_host.lower():
        return True
    if not allowed:
        return True
    if not origin or origin == "null":
        return False
    try:
        origin = normalise(origin)
    except OriginInvalid:
        return False
    return any(matches(pattern, origin) for pattern in allowed)


def _netloc(origin: str) -> str:
    return urlsplit(origin.strip().lower()).netloc
