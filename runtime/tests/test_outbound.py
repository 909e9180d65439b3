"""The outbound guard (runtime/outbound.py) against real sockets: what it refuses, what the
allow-list lets through, redirects, sizes and timeouts."""
import socket

import pytest

from runtime import outbound

from .receiver import receiver


@pytest.mark.parametrize("url, reason", [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://127.0.0.1:8000/", "loopback"),
    ("http://localhost/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://10.1.2.3/", "private"),
    ("http://192.168.0.1/", "private"),
    ("http://100.64.0.1/", "private or reserved"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0x7f000001/", "loopback"),
    ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 around 127.0.0.1
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 around 169.254.169.254
])
def test_addresses_of_the_servers_own_network_are_refused(url, reason):
    with pytest.raises(outbound.OutboundRefused, match=reason):
        outbound.validate_url(url)
    with pytest.raises(outbound.OutboundRefused, match=reason):
        outbound.request("GET", url)


@pytest.mark.parametrize("url, problem", [
    ("ftp://example.com/", "http or https"), ("file:///etc/passwd", "http or https"),
    ("http://user:pw@example.com/", "user name"), ("http:///nohost", "no host"), ("", "http or https"),
])
def test_urls_that_are_not_plain_http_are_refused(url, problem):
    with pytest.raises(outbound.OutboundRefused, match=problem):
        outbound.validate_url(url)


def test_public_addresses_pass_the_check():
    assert outbound.refused_address("93.184.215.14") is None
    assert outbound.refused_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c") is None


def test_a_local_receiver_is_refused_unless_its_host_is_allowed(settings):
    with receiver((200, {}, b"hello")) as rx:
        with pytest.raises(outbound.OutboundRefused):
            outbound.request("GET", rx.url + "/x")
        assert rx.requests == []
        settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
        reply = outbound.request("GET", rx.url + "/x")
    assert (reply.status, reply.body) == (200, b"hello")
    assert [r[1] for r in rx.requests] == ["/x"]


def test_a_redirect_to_a_private_address_is_refused(settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    with receiver((200, {}, b"secret inside")) as inside:
        # The allowed receiver sends the fetch on to another local name: that hop is refused.
        with receiver((302, {"Location": f"http://localhost:{inside.port}/admin"}, b"")) as allowed:
            with pytest.raises(outbound.OutboundRefused, match="localhost"):
                outbound.request("GET", allowed.url + "/start")
            assert len(allowed.requests) == 1
        with receiver((302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")) as allowed:
            with pytest.raises(outbound.OutboundRefused, match="link-local"):
                outbound.request("GET", allowed.url + "/start")
    assert inside.requests == []


def test_redirects_between_allowed_hosts_are_followed_up_to_the_limit(settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    with receiver((200, {}, b"end")) as end:
        with receiver((302, {"Location": f"http://127.0.0.1:{end.port}/end"}, b"")) as start:
            reply = outbound.request("GET", start.url + "/")
        assert (reply.status, reply.body, reply.redirects) == (200, b"end", [f"http://127.0.0.1:{end.port}/end"])
    with receiver((302, {"Location": "http://127.0.0.1:{port}/again"}, b"")) as loop:
        with pytest.raises(outbound.OutboundFailed, match="redirected more than 3 times"):
            outbound.request("GET", loop.url + "/")
        assert len(loop.requests) == 4


def test_an_answer_over_the_size_limit_is_refused(settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    with receiver((200, {}, b"x" * 5000)) as rx:
        with pytest.raises(outbound.OutboundFailed, match="limit is 1000"):
            outbound.request("GET", rx.url, max_bytes=1000)
        assert outbound.request("GET", rx.url, max_bytes=5000).body == b"x" * 5000


def test_a_silent_server_times_out(settings, monkeypatch):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    monkeypatch.setattr(outbound, "READ_TIMEOUT", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(outbound.OutboundFailed, match="timed out"):
            outbound.request("GET", f"http://127.0.0.1:{silent.getsockname()[1]}/")


def test_a_name_that_changes_its_answer_after_the_check_is_refused_at_connect(monkeypatch):
    """DNS rebinding: public when the URL is checked, loopback a moment later. The guard
    connects to the addresses it checked at connect time, so the switch is caught."""
    real = socket.getaddrinfo
    answers = iter(["93.184.215.14", "127.0.0.1"])

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(outbound.OutboundRefused, match=r"rebind.example \(127.0.0.1\) is a loopback"):
        outbound.request("GET", "http://rebind.example/")
