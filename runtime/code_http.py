"""The runtime's `HttpHost` for the `axios` helper of code and hooks: every request goes
through the one outbound guard (runtime/outbound.py), so private, loopback and metadata
addresses are refused unless FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS (or an endpoint the process
allowed itself) says otherwise. The engine has already checked the bot's allow-list and
the limits (runtime/engine/http.py). Runs on the engine's thread, never on an event loop.
"""
from __future__ import annotations

from http import HTTPStatus

from runtime import outbound


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class GuardedHttp:
    def fetch(self, request: dict, *, seconds: float, max_bytes: int) -> dict:
        body = request.get("body")
        try:
            reply = outbound.request(request["method"], request["url"], headers=request.get("headers") or None,
                                     content=body.encode() if isinstance(body, str) else None,
                                     max_bytes=max_bytes, max_redirects=0, total_seconds=max(seconds, 0.05))
        except outbound.OutboundRefused as exc:
            return {"error": f"axios: {exc}", "code": "ERR_REFUSED"}
        except outbound.OutboundFailed as exc:
            code = "ECONNABORTED" if "timed out" in str(exc) or "longer than" in str(exc) else "ERR_NETWORK"
            return {"error": f"axios: {exc}", "code": code}
        return {"status": reply.status, "statusText": _status_text(reply.status),
                "headers": {k.lower(): v for k, v in reply.headers.items()},
                "text": reply.body.decode("utf-8", "replace")}


_host = GuardedHttp()


def host() -> GuardedHttp:
    return _host
