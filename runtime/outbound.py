"""The one way the server fetches anything from the network (webhooks today; knowledge web
sources, the code HTTP helper and channels as they come): an HTTP client over httpx that
refuses to reach the studio's own network.

- Only http and https URLs.
- The host is resolved, and every address it resolves to must be public: loopback, private,
  link-local (169.254.169.254, the cloud metadata service), shared, multicast, reserved and
  unspecified addresses are refused, for IPv4 and IPv6, including IPv4 carried inside IPv6
  (mapped ::ffff:a.b.c.d, 6to4, NAT64). Host names listed in FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS
  skip the check (an internal receiver you trust).
- The check happens where the connection is opened, on the very addresses it connects to,
  so a name that resolves to a public address when a URL is saved and to 127.0.0.1 when it
  is fetched (DNS rebinding) is still refused. TLS still verifies the certificate against
  the host name.
- Redirects are followed by hand, at most `max_redirects`, each hop checked like the first.
- Timeouts for connecting and for each read, a deadline for the whole exchange, and a cap
  on the response body; no proxy from the environment (it would hide the real target).

docs/security.md, "Outbound HTTP", lists the limits.
"""
from __future__ import annotations

import ipaddress
import ssl
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import anyio
import httpcore
import httpcore2
import httpx
import httpx2
from django.conf import settings

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
TOTAL_SECONDS = 30.0
MAX_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
USER_AGENT = "Flowstudio/1"

_REDIRECTS = {301, 302, 303, 307, 308}
# 64:ff9b::/96 (NAT64) ends with the IPv4 address it reaches.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(ValueError):
    """The URL may not be fetched: its message says why, in words for the person who set it."""


class OutboundFailed(Exception):
    """The fetch was allowed but did not complete (unreachable, timed out, too large)."""


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str
    redirects: list[str] = field(default_factory=list)


def allowed_hosts() -> set[str]:
    return {host.strip().lower().strip("[]") for host in getattr(settings, "FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS", [])
            if host.strip()}


# Single host:port pairs this process may reach whatever the checks say: a server the process
# started itself (the demo LLM server of FLOWSTUDIO_LLM_DEMO, integrations/llm/demo.py). Narrower
# than FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS, which opens every port of a host: a bot's webhook to
# 127.0.0.1 stays refused while the demo runs.
_allowed_endpoints: set[tuple[str, int]] = set()


def allow_endpoint(host: str, port: int) -> None:
    _allowed_endpoints.add((host.strip("[]").lower(), int(port)))


def forget_endpoint(host: str, port: int) -> None:
    _allowed_endpoints.discard((host.strip("[]").lower(), int(port)))


def _skips_checks(host: str, port) -> bool:
    return host in allowed_hosts() or (host, port) in _allowed_endpoints


def refused_address(address: str) -> str | None:
    """Why this IP address may not be reached, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
                                                      if ip in _NAT64 else None)
        if embedded is not None:
            return refused_address(str(embedded))
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_private or not ip.is_global:
        return "a private or reserved address"
    return None


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundFailed(f"{host} does not resolve: {exc.strerror}") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses to connect to for host:port, or OutboundRefused if any is not public
    (a name with one private address among public ones is refused too)."""
    host = host.strip("[]").lower()
    addresses = _resolve(host, port)
    for address in addresses:
        reason = refused_address(address)
        if reason:
            shown = host if host == address else f"{host} ({address})"
            raise OutboundRefused(f"{shown} is {reason}; the server does not fetch from its own network "
                                  "(FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS lists exceptions)")
    return addresses


def validate_url(url: str) -> str:
    """Save-time check of a URL the server will fetch later: the scheme, a host, and for
    literal addresses and names that resolve now, public addresses. A name that does not
    resolve yet is accepted; the fetch checks again."""
    if not isinstance(url, str) or not url:
        raise OutboundRefused("must be an http or https URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused("must be an http or https URL")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise OutboundRefused("has an invalid port") from None
    if not host:
        raise OutboundRefused("has no host")
    if parts.username or parts.password:
        raise OutboundRefused("must not carry a user name or password")
    port = port or (443 if parts.scheme == "https" else 80)
    if _skips_checks(host.lower(), port):
        return url
    try:
        checked_addresses(host, port)
    except OutboundFailed:
        pass
    return url


class _GuardedBackend(httpcore.NetworkBackend):
    """Opens each TCP connection to a checked address (the same one just checked: nothing
    resolves the name a second time)."""

    def __init__(self):
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if isinstance(host, bytes):
            host = host.decode("ascii")
        host = host.strip("[]").lower()
        addresses = [host] if _skips_checks(host, port) else checked_addresses(host, port)
        last_error = None
        for address in addresses:
            try:
                return self._backend.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                 socket_options=socket_options)
            except httpcore.ConnectError as exc:
                last_error = exc
        raise last_error

    def sleep(self, seconds):
        self._backend.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self):
        # The process's one SSL context (below): a request used to make two, loading the CA
        # bundle twice, which was most of a Celery worker's CPU when it delivered channel replies.
        context = _shared_ssl_context()
        super().__init__(verify=context, retries=0)
        # httpx's transport has no hook for its network backend; its pool is the one place
        # TCP connections open, so the pool is replaced by one that opens them through the guard.
        self._pool = httpcore.ConnectionPool(ssl_context=context, max_connections=10,
                                             retries=0, network_backend=_GuardedBackend())


def request(method: str, url: str, *, headers: dict | None = None, content: bytes | None = None,
            max_bytes: int = MAX_BYTES, max_redirects: int = MAX_REDIRECTS,
            total_seconds: float = TOTAL_SECONDS) -> Reply:
    """Fetch `url`; OutboundRefused when it (or a redirect) points where the server may not
    go, OutboundFailed when it cannot be fetched. Any status is a Reply: callers decide.
    A `total_seconds` below the connect and read timeouts lowers them too (a caller with
    a short budget, such as the code HTTP helper, must not wait 10 s on one read)."""
    validate_url(url)
    deadline = time.monotonic() + total_seconds
    timeout = httpx.Timeout(min(READ_TIMEOUT, total_seconds), connect=min(CONNECT_TIMEOUT, total_seconds))
    redirects: list[str] = []
    with httpx.Client(transport=_GuardedTransport(), timeout=timeout, trust_env=False,
                      follow_redirects=False, headers={"User-Agent": USER_AGENT}) as client:
        next_request = client.build_request(method, url, headers=headers, content=content)
        while True:
            try:
                response = client.send(next_request, stream=True)
            except httpx.TimeoutException:
                raise OutboundFailed(f"{next_request.url} timed out") from None
            except httpx.HTTPError as exc:
                raise OutboundFailed(f"{next_request.url} is unreachable: {exc}") from None
            try:
                if response.status_code in _REDIRECTS and response.next_request is not None:
                    if len(redirects) >= max_redirects:
                        raise OutboundFailed(f"{url} redirected more than {max_redirects} times")
                    next_request = response.next_request
                    validate_url(str(next_request.url))
                    redirects.append(str(next_request.url))
                    continue
                body = _read_limited(response, max_bytes, deadline, total_seconds)
                return Reply(response.status_code, response.headers, body, str(response.url), redirects)
            except httpx.TimeoutException:
                raise OutboundFailed(f"{response.url} timed out") from None
            except httpx.HTTPError as exc:
                raise OutboundFailed(f"{response.url} failed while answering: {exc}") from None
            finally:
                response.close()


def _read_limited(response: httpx.Response, max_bytes: int, deadline: float, total_seconds: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise OutboundFailed(f"{response.url} answered {declared} bytes; the limit is {max_bytes}")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise OutboundFailed(f"{response.url} answered more than the {max_bytes} byte limit")
        if time.monotonic() > deadline:
            raise OutboundFailed(f"{response.url} took longer than the {total_seconds:g} s limit")
        chunks.append(chunk)
    return b"".join(chunks)


# The async side of the same guard, for clients that speak through `httpx2` (the `openai`
# package's HTTP library, integrations/llm/client.py): the same address checks
# (`allowed_hosts`, `checked_addresses`), done where each TCP connection opens.


class _AsyncGuardedBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self):
        self._backend = httpcore2.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if isinstance(host, bytes):
            host = host.decode("ascii")
        host = host.strip("[]").lower()
        if _skips_checks(host, port):
            addresses = [host]
        else:
            # getaddrinfo blocks: resolve and check off the event loop.
            addresses = await anyio.to_thread.run_sync(checked_addresses, host, port)
        last_error = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                       socket_options=socket_options)
            except httpcore2.ConnectError as exc:
                last_error = exc
        raise last_error

    async def sleep(self, seconds):
        await self._backend.sleep(seconds)


_ssl_context: ssl.SSLContext | None = None
_ssl_context_lock = threading.Lock()


def _shared_ssl_context() -> ssl.SSLContext:
    """One verifying SSL context for every guarded client of the process, sync and async. Making one
    loads the CA bundle (tens of ms of CPU); each transport made two (httpx2's own and the
    pool's), for every provider client, MCP session and loop. A context is safe to share
    between connections and threads, and nothing here changes it after it is made."""
    global _ssl_context
    with _ssl_context_lock:
        if _ssl_context is None:
            _ssl_context = httpx2.create_ssl_context()
        return _ssl_context


class AsyncGuardedTransport(httpx2.AsyncHTTPTransport):
    """An `httpx2.AsyncHTTPTransport` whose connections open through the guard. A refused
    address raises OutboundRefused out of the request (not an httpx2 error)."""

    def __init__(self, max_connections: int = 10):
        context = _shared_ssl_context()
        super().__init__(verify=context, retries=0, trust_env=False)
        self._pool = httpcore2.AsyncConnectionPool(ssl_context=context,
                                                   max_connections=max_connections, retries=0,
                                                   network_backend=_AsyncGuardedBackend())
