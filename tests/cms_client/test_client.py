"""The Payload client: errors keep Payload's words, pages are followed, files stream."""

from __future__ import annotations

import io
import json

import pytest
import requests
import responses
from requests_toolbelt import MultipartEncoder
from responses import matchers

from cms_client import (
    CMSBadResponse,
    CMSForbidden,
    CMSNotFound,
    CMSUnavailable,
    CMSValidationError,
    DownloadIncomplete,
    FetchPolicy,
    FetchRefused,
    PayloadClient,
    copy_to,
    iter_checked,
)
from cms_client.fetch import AddressRefused

BASE = "http://cms.test"
AUTH = "users API-Key k-0123456789"


@pytest.fixture
def cms() -> PayloadClient:
    return PayloadClient(BASE, authorization=AUTH, allowed_media_origins=("https://cdn.test",))


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as m:
        yield m


def test_get_sends_the_api_key_and_depth(cms, mock):
    mock.get(
        f"{BASE}/api/projects/7",
        json={"id": 7, "title": "T"},
        match=[
            matchers.header_matcher({"Authorization": AUTH}),
            matchers.query_param_matcher({"depth": "1"}),
        ],
    )
    assert cms.get("projects", 7, depth=1) == {"id": 7, "title": "T"}


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (
            403,
            {"errors": [{"message": "You are not allowed to perform this action."}]},
            CMSForbidden,
            "Payload answered 403 to GET /projects/7: You are not allowed",
        ),
        (
            404,
            {"errors": [{"message": "Not Found"}]},
            CMSNotFound,
            "404 to GET /projects/7: Not Found",
        ),
        (500, {"errors": [{"message": "Something went wrong."}]}, CMSUnavailable, "500"),
        (418, "teapot", CMSBadResponse, "418 to GET /projects/7: no message"),
    ],
)
def test_errors_keep_payloads_message(cms, mock, status, body, error, text):
    mock.get(
        f"{BASE}/api/projects/7",
        status=status,
        **({"json": body} if isinstance(body, dict) else {"body": body}),
    )
    with pytest.raises(error) as caught:
        cms.get("projects", 7)
    assert text in str(caught.value)
    assert caught.value.status == status


def test_validation_errors_name_the_fields(cms, mock):
    mock.post(
        f"{BASE}/api/export-requests",
        status=400,
        json={
            "errors": [
                {
                    "name": "ValidationError",
                    "message": "The following field is invalid: type",
                    "data": {
                        "errors": [
                            {"path": "type", "message": "This field has an invalid selection"}
                        ]
                    },
                }
            ]
        },
    )
    with pytest.raises(CMSValidationError) as caught:
        cms.create("export-requests", {"type": "x"})
    assert caught.value.field_errors == [
        {"path": "type", "message": "This field has an invalid selection"}
    ]
    assert "type: This field has an invalid selection" in str(caught.value)


def test_connection_errors_are_unavailable(cms, mock):
    mock.get(f"{BASE}/api/projects/7", body=requests.ConnectionError("refused"))
    with pytest.raises(CMSUnavailable, match="did not answer GET /projects/7"):
        cms.get("projects", 7)


def test_find_all_follows_pages_and_flattens_where(cms, mock):
    where = {"where[project][equals]": "7", "depth": "0", "limit": "100", "sort": "order"}
    mock.get(
        f"{BASE}/api/scripts",
        json={"docs": [{"id": 1}], "hasNextPage": True, "nextPage": 2},
        match=[matchers.query_param_matcher({**where, "page": "1"})],
    )
    mock.get(
        f"{BASE}/api/scripts",
        json={"docs": [{"id": 2}], "hasNextPage": False},
        match=[matchers.query_param_matcher({**where, "page": "2"})],
    )
    docs = cms.find_all("scripts", where={"project": {"equals": 7}}, sort="order")
    assert [d["id"] for d in docs] == [1, 2]


def test_update_overrides_document_locks(cms, mock):
    mock.patch(
        f"{BASE}/api/export-requests/3",
        json={"doc": {"id": 3, "status": "running"}},
        match=[
            matchers.query_param_matcher({"depth": "0", "overrideLock": "true"}),
            matchers.json_params_matcher({"status": "running"}),
        ],
    )
    assert cms.update("export-requests", 3, {"status": "running"})["status"] == "running"


def test_upload_streams_the_file_as_multipart(cms, mock, tmp_path):
    path = tmp_path / "brief.pdf"
    path.write_bytes(b"%PDF-1.4 tiny")
    seen = {}
    send = cms.session.request

    def spy(method, url, **kwargs):
        seen["streamed"] = isinstance(kwargs["data"], MultipartEncoder)  # read in chunks
        return send(method, url, **kwargs)

    cms.session.request = spy

    def reply(request):
        body = request.body if isinstance(request.body, bytes) else request.body.read()
        seen["has_file"] = b"%PDF-1.4 tiny" in body and b'filename="brief.pdf"' in body
        seen["payload"] = b'"exportOf": 7' in body
        return 201, {}, json.dumps({"doc": {"id": 9, "url": "/api/media/file/brief.pdf"}})

    mock.add_callback("POST", f"{BASE}/api/media", callback=reply)
    doc = cms.upload("media", path, filename="brief.pdf", data={"exportOf": 7})
    assert doc["id"] == 9
    assert seen == {"streamed": True, "has_file": True, "payload": True}


def test_downloads_send_credentials_only_to_the_cms(cms, mock):
    mock.get(
        f"{BASE}/api/media/file/a.png",
        body=b"abc",
        match=[matchers.header_matcher({"Authorization": AUTH})],
    )
    mock.get("https://cdn.test/a.png", body=b"abc")
    with cms.stream("/api/media/file/a.png") as response:
        assert response.content == b"abc"
    with cms.stream("https://cdn.test/a.png") as response:
        assert "Authorization" not in response.request.headers


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "https://evil.test/a.png",
        "http://169.254.169.254/latest/meta-data",
        "ftp://cms.test/a.png",
    ],
)
def test_downloads_refuse_origins_that_are_not_allowed(cms, mock, url):
    with pytest.raises(FetchRefused), cms.stream(url):
        pass


def test_redirects_are_checked_hop_by_hop(cms, mock):
    mock.get(
        f"{BASE}/api/media/file/a.png",
        status=302,
        headers={"Location": "http://169.254.169.254/secrets"},
    )
    with (
        pytest.raises(FetchRefused, match="not an allowed origin"),
        cms.stream("/api/media/file/a.png"),
    ):
        pass


def test_a_short_download_is_incomplete(cms, mock):
    mock.get(f"{BASE}/api/media/file/a.bin", body=b"12345")
    with (
        pytest.raises(DownloadIncomplete, match="ended after 5 of 10 bytes"),
        cms.stream("/api/media/file/a.bin") as response,
    ):
        copy_to(
            iter_checked(response, url=response.url, max_bytes=100, expected_size=10), io.BytesIO()
        )


def test_a_download_over_the_limit_is_refused(cms, mock):
    mock.get(f"{BASE}/api/media/file/a.bin", body=b"x" * 50)
    with (
        pytest.raises(FetchRefused, match="limit of 10 bytes"),
        cms.stream("/api/media/file/a.bin") as response,
    ):
        copy_to(iter_checked(response, url=response.url, max_bytes=10), io.BytesIO())


def test_repr_never_shows_the_key(cms):
    assert "k-0123456789" not in repr(cms)


def test_an_allowed_host_resolving_to_a_link_local_address_is_refused():
    policy = FetchPolicy(
        allowed_origins=frozenset({"https://cdn.test"}), resolver=lambda host: ["169.254.169.254"]
    )
    with pytest.raises(AddressRefused, match="link-local"):
        policy.check("https://cdn.test/a.png")
