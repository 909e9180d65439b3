"""The engine's half of the `axios`-like helper of Execute Code and hooks (docs/hooks-and-triggers.md).

The sandbox queues each request the code makes (runtime/engine/sandbox.py); this module
decides whether it may go out and records it, and an `HttpHost` given by the runtime does
the fetch (runtime/code_http.py, through the server's one outbound guard). Pure Python: the
engine never opens a socket itself.

- Only hosts listed in the bot's `settings.http.allowHosts` (exact names, or `*.example.com`
  for the subdomains of example.com); an empty list means no request leaves.
- Each request gets at most `settings.http.timeoutMs`, and never more than what is left of
  the code's own time limit (the request counts inside it).
- At most `settings.http.maxResponseBytes` of response body.
- Redirects are not followed: a 3xx is answered to the code (the allow-list would otherwise
  be bypassed by a redirect to another host).
- The trace keeps method, URL, status and time of each request, with the values of `env`
  (configuration variables, often API keys) starred out; headers and bodies are never kept.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Protocol
from urllib.parse import urlsplit

DEFAULT_TIMEOUT_MS = 5000
MAX_TIMEOUT_MS = 30000
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_REQUEST_BODY_BYTES = 256 * 1024
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Secrets shorter than this are not starred out: starring "1" would garble every URL.
_MIN_SECRET_CHARS = 4


class HttpHost(Protocol):
    def fetch(self, request: dict, *, seconds: float, max_bytes: int) -> dict:
        """Perform `request` ({"method", "url", "headers", "body"}); answer
        {"status", "statusText", "headers", "text"} or {"error", "code"}."""


def http_settings(settings: Mapping) -> dict:
    spec = settings.get("http") or {}
    return {
        "allowHosts": [str(h).strip().lower() for h in spec.get("allowHosts") or () if str(h).strip()],
        "timeoutMs": min(int(spec.get("timeoutMs") or DEFAULT_TIMEOUT_MS), MAX_TIMEOUT_MS),
        "maxResponseBytes": min(int(spec.get("maxResponseBytes") or DEFAULT_MAX_RESPONSE_BYTES), MAX_RESPONSE_BYTES),
    }


def host_allowed(host: str, allow: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in allow:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def redactor(env: Mapping) -> Callable[[str], str]:
    secrets = sorted({str(v) for v in env.values() if isinstance(v, str) and len(v) >= _MIN_SECRET_CHARS},
                     key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text
    return redact


def code_fetch(host: HttpHost | None, settings: Mapping, env: Mapping,
               trace: Callable[..., None]) -> Callable[[dict, float], dict] | None:
    """The sandbox's `http` callable for one turn, or None when the runtime gave no host."""
    if host is None:
        return None
    spec = http_settings(settings)
    redact = redactor(env)

    def fetch(request: dict, seconds: float) -> dict:
        method = str(request.get("method") or "GET").upper()
        url = str(request.get("url") or "")
        shown = redact(url)
        answer = _refusal(method, url, request, spec)
        t0 = perf_counter()
        if answer is None:
            timeout = spec["timeoutMs"] / 1000
            if isinstance(request.get("timeout"), (int, float)) and request["timeout"] > 0:
                timeout = min(timeout, request["timeout"] / 1000)
            answer = host.fetch({"method": method, "url": url, "headers": request.get("headers") or {},
                                 "body": request.get("body")},
                                seconds=min(timeout, seconds), max_bytes=spec["maxResponseBytes"])
        if "error" in answer:
            answer = {**answer, "error": redact(str(answer["error"]))}
            trace("http_request", method=method, url=shown, error=answer["error"],
                  ms=round((perf_counter() - t0) * 1000, 3))
        else:
            trace("http_request", method=method, url=shown, status=answer.get("status"),
                  ms=round((perf_counter() - t0) * 1000, 3))
        return answer
    return fetch


def _refusal(method: str, url: str, request: dict, spec: dict) -> dict | None:
    if method not in METHODS:
        return {"error": f"axios: method {method} is not supported; use one of {', '.join(METHODS)}",
                "code": "ERR_BAD_OPTION"}
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return {"error": f"axios: {url!r} is not an http or https URL", "code": "ERR_INVALID_URL"}
    if not host_allowed(parts.hostname, spec["allowHosts"]):
        return {"error": f"axios: host {parts.hostname} is not in the bot's settings.http.allowHosts",
                "code": "ERR_HOST_NOT_ALLOWED"}
    body = request.get("body")
    if isinstance(body, str) and len(body.encode()) > MAX_REQUEST_BODY_BYTES:
        return {"error": f"axios: the request body is over {MAX_REQUEST_BODY_BYTES} bytes", "code": "ERR_BAD_OPTION"}
    return None
