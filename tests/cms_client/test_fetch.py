"""Guarded downloads: origins, redirects, addresses, sizes and checksums."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading

import pytest
import requests
import responses

from cms_client import DownloadIncomplete, FetchPolicy, FetchRefused, PayloadClient, fetch
from cms_client.fetch import (
    AddressRefused,
    Incomplete,
    PinnedAdapter,
    copy_to,
    iter_checked,
    open_stream,
    origin_of,
)

fetch_resolve_host = fetch.resolve_host  # before tests/conftest.py stands in for DNS

BASE = "http://cms.test"
AUTH = "users API-Key k-0123456789"


@pytest.fixture
def cms() -> PayloadClient:
    client = PayloadClient(BASE, authorization=AUTH, allowed_media_origins=("https://cdn.test",))
    client.fetch_policy = FetchPolicy(
        allowed_origins=client.fetch_policy.allowed_origins, resolver=lambda host: ["93.184.216.34"]
    )
    return client


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as m:
        yield m


def download(
    cms: PayloadClient,
    url: str,
    *,
    expected: int | None = None,
    max_bytes: int = 1000,
    limit_name: str | None = None,
):
    with cms.stream(url) as response:
        chunks = iter_checked(
            response,
            url=response.url,
            max_bytes=max_bytes,
            expected_size=expected,
            limit_name=limit_name,
        )
        return copy_to(chunks, io.BytesIO())


def test_a_download_is_counted_and_hashed(cms, mock):
    mock.get(f"{BASE}/api/media/file/a.bin", body=b"abc" * 100)
    result = download(cms, "/api/media/file/a.bin", expected=300)
    assert result.bytes == 300
    assert result.sha256 == hashlib.sha256(b"abc" * 100).hexdigest()


def test_redirects_within_allowed_origins_are_followed_without_leaking_credentials(cms, mock):
    mock.get(
        f"{BASE}/api/media/file/a.bin",
        status=302,
        headers={"Location": "https://cdn.test/signed/a.bin?sig=secret"},
    )
    mock.get("https://cdn.test/signed/a.bin", body=b"abc")
    assert download(cms, "/api/media/file/a.bin").bytes == 3
    assert "Authorization" not in mock.calls[1].request.headers


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("https://evil.test/a.bin", "https://evil.test is not an allowed origin"),
        ("file:///etc/passwd", "only http and https URLs are allowed"),
        ("http://10.1.2.3/a.bin", "http://10.1.2.3 is not an allowed origin"),
        ("http://user:pw@cms.test/a.bin", "credentials in the URL"),
    ],
)
def test_redirects_elsewhere_are_refused(cms, mock, location, words):
    mock.get(f"{BASE}/api/media/file/a.bin", status=301, headers={"Location": location})
    with pytest.raises(FetchRefused, match=words):
        download(cms, "/api/media/file/a.bin")


def test_redirect_loops_end(cms, mock):
    mock.get(
        f"{BASE}/api/media/file/a.bin", status=302, headers={"Location": "/api/media/file/a.bin"}
    )
    with pytest.raises(FetchRefused, match="too many redirects"):
        download(cms, "/api/media/file/a.bin")


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "fe80::1%eth0",
        "0.0.0.0",
        "224.0.0.1",
    ],
)
def test_allowed_hosts_resolving_to_metadata_or_unusable_addresses_are_refused(address):
    policy = FetchPolicy(
        allowed_origins=frozenset({"https://cdn.test"}), resolver=lambda host: [address]
    )
    with pytest.raises(AddressRefused, match="link-local or reserved"):
        policy.check("https://cdn.test/a.png")


def test_a_content_length_that_disagrees_with_the_cms_is_refused_before_reading(cms, mock):
    mock.get(f"{BASE}/api/media/file/a.bin", body=b"abc", headers={"Content-Length": "3"})
    with pytest.raises(DownloadIncomplete, match=r"announces 3 bytes .* reports 10"):
        download(cms, "/api/media/file/a.bin", expected=10)


def test_a_body_cut_short_of_its_content_length_is_incomplete(cms, mock):
    mock.get(
        f"{BASE}/api/media/file/a.bin",
        body=b"abc",
        headers={"Content-Length": "10"},
        auto_calculate_content_length=False,
    )
    with pytest.raises(DownloadIncomplete, match="broke off after"):
        download(cms, "/api/media/file/a.bin", expected=10)


def test_a_body_longer_than_announced_is_incomplete(cms, mock):
    mock.get(f"{BASE}/api/media/file/a.bin", body=b"abcdef")
    with (
        pytest.raises(DownloadIncomplete, match="more than the 4 bytes announced"),
        cms.stream("/api/media/file/a.bin") as response,
    ):
        response.headers.pop("Content-Length", None)
        copy_to(
            iter_checked(response, url=response.url, max_bytes=100, expected_size=4), io.BytesIO()
        )


def test_limits_are_named_when_a_name_is_given(cms, mock):
    mock.get(f"{BASE}/api/media/file/a.bin", body=b"x" * 5000)
    with pytest.raises(FetchRefused, match=r"more than EXPORT_MAX_FILE_BYTES \(2,048 bytes\)"):
        download(cms, "/api/media/file/a.bin", max_bytes=2048, limit_name="EXPORT_MAX_FILE_BYTES")


def test_a_connection_error_midway_is_incomplete():
    class Broken(requests.Response):
        def iter_content(self, chunk_size=1, decode_unicode=False):
            yield b"abc"
            raise requests.ConnectionError("reset by peer")

    with pytest.raises(Incomplete, match="broke off after 3 bytes: ConnectionError"):
        copy_to(iter_checked(Broken(), url="http://cms.test/a", max_bytes=100), io.BytesIO())


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("HTTP://CMS.test:80/a", "http://cms.test"),
        ("https://cdn.test:443/x", "https://cdn.test"),
        ("http://cms.test:3000/api", "http://cms.test:3000"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_origin_of(url, origin):
    assert origin_of(url) == origin


# -- DNS rebinding: the connection goes to the address that was checked ---------------------


class _Named(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"{self.server.name} Host={self.headers['Host']}".encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def two_hosts():
    """A server on 127.0.0.1 ("checked") and one on 127.0.0.2 ("internal"), same port."""
    servers = []
    checked = http.server.HTTPServer(("127.0.0.1", 0), _Named)
    port = checked.server_address[1]
    try:
        internal = http.server.HTTPServer(("127.0.0.2", port), _Named)
    except OSError:
        checked.server_close()
        pytest.skip("127.0.0.2 is not usable here")
    for server, name in ((checked, "checked"), (internal, "internal")):
        server.name = name  # type: ignore[attr-defined]
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_name_that_changes_its_answer_after_the_check_is_fetched_from_the_checked_address(
    two_hosts, monkeypatch
):
    """The check sees 127.0.0.1; every later lookup of the name says 127.0.0.2."""
    port = two_hosts
    answers = iter(["127.0.0.1"])
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host == "media.rebind.test":
            address = next(answers, "127.0.0.2")
            return real(address, *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(fetch, "resolve_host", fetch_resolve_host)  # the real resolver
    url = f"http://media.rebind.test:{port}/a.bin"
    policy = FetchPolicy(allowed_origins=frozenset({origin_of(url)}))
    response = open_stream(url, policy=policy, headers_for=lambda u: {}, timeout=(2, 5))
    with response:
        assert response.text == f"checked Host=media.rebind.test:{port}"


def test_the_pinned_adapter_keeps_the_name_for_host_header_and_tls():
    adapter = PinnedAdapter("127.0.0.1")
    pool = adapter.poolmanager.connection_from_url("https://media.example.org/a")
    connection = pool._new_conn()
    assert connection.host == "media.example.org"  # Host header, SNI and certificate check
    assert pool.__class__.ConnectionCls.__name__ == "PinnedTLS"
