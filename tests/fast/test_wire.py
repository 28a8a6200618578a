"""Light on the wire (issue 14): Brotli / gzip on every compressible answer, never on tiny or
already-compressed ones, ``Vary: Accept-Encoding``; fingerprinted static URLs cached for a year;
pages revalidated by ETag; the manifest and the service worker."""

from __future__ import annotations

import gzip
import re
import zlib
from typing import Any

import brotli
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from api.auth import SESSION_COOKIE
from api.compression import MIN_SIZE, Compression, choose
from maps.offline import LEAFLET_JS

BR = {"Accept-Encoding": "gzip, deflate, br"}
GZ = {"Accept-Encoding": "gzip"}
NONE = {"Accept-Encoding": "identity"}


def page_client(site: Any, user: str) -> TestClient:
    return TestClient(site.client.app, cookies={SESSION_COOKIE: site.tokens[user]})


def raw(client: TestClient, path: str, headers: dict[str, str]) -> tuple[Any, bytes]:
    """The answer and its body exactly as sent (httpx would decode it)."""
    with client.stream("GET", path, headers=headers) as r:
        body = b"".join(r.iter_raw())
    return r, body


def answers(site: Any) -> dict[str, tuple[TestClient, str]]:
    """One answer of each compressible type the service sends."""
    incident = site.incident()
    pages = page_client(site, "dongha")
    return {
        "html page": (pages, "/commune"),
        "html map": (pages, f"/maps/incidents/{incident['id']}"),
        "json": (site.client, "/openapi.json"),
        "geojson": (site.client, "/api/v1/communes"),
        "js": (site.client, "/static/app/app.js"),
        "css": (site.client, "/static/vendor/leaflet/leaflet.css"),
        "leaflet": (site.client, LEAFLET_JS),
    }


@pytest.mark.parametrize(("headers", "encoding"), [(BR, "br"), (GZ, "gzip")])
def test_every_compressible_answer_is_compressed(site, headers, encoding):
    for name, (client, path) in answers(site).items():
        plain, body = raw(client, path, NONE)
        assert plain.status_code == 200, (name, body[:200])
        assert "content-encoding" not in plain.headers, name
        assert "accept-encoding" in plain.headers.get("vary", "").lower(), name
        r, squeezed = raw(client, path, headers)
        assert r.headers.get("content-encoding") == encoding, (name, r.headers)
        assert "accept-encoding" in r.headers["vary"].lower(), name
        assert int(r.headers["content-length"]) == len(squeezed) < len(body), name
        unpacked = brotli.decompress(squeezed) if encoding == "br" else gzip.decompress(squeezed)
        if name.startswith("html"):  # a fresh nonce / one-time tokens in every page
            assert unpacked.startswith(b"<!"), name
            assert abs(len(unpacked) - len(body)) < 2000, name
        else:
            assert unpacked == body, name


def test_tiny_and_incompressible_answers_go_as_they_are(site):
    for path in ("/healthz", "/static/app/icon.svg", "/static/vendor/leaflet/images/layers.png"):
        r, _ = raw(site.client, path, BR)
        assert r.status_code == 200, path
        assert "content-encoding" not in r.headers, path
    r, _ = raw(site.client, "/static/vendor/leaflet/images/layers.png", BR)
    assert "accept-encoding" not in r.headers.get("vary", "").lower()


def test_a_range_of_a_file_is_sent_as_asked(site):
    r = site.client.get(LEAFLET_JS, headers={**BR, "Range": "bytes=0-999"})
    assert r.status_code == 206 and "content-encoding" not in r.headers
    assert len(r.content) == 1000


def test_brotli_only_where_the_client_prefers_it():
    assert choose("gzip, deflate, br") == "br"
    assert choose("br;q=0.5, gzip") == "gzip"
    assert choose("gzip;q=0.8, br") == "br"
    assert choose("br;q=0, gzip;q=0") is None
    assert choose("identity") is None and choose("") is None
    assert choose("*") == "br" and choose("*, br;q=0") == "gzip"
    assert choose("deflate") is None


def test_compression_can_be_switched_off(tmp_path):
    from api.main import create_app
    from api.settings import Settings

    for on in (True, False):
        app = create_app(Settings(data_dir=tmp_path, compression=on))
        mw = next(m for m in app.user_middleware if m.cls is Compression)
        assert mw.kwargs == {"enabled": on}
    client = TestClient(Compression(_app(TEXT, "application/json").app, enabled=False))
    r, body = raw(client, "/", BR)
    assert "content-encoding" not in r.headers and body == TEXT


def _app(body: bytes, ctype: str, *, stream: bool = False) -> Any:
    async def route(request: Any) -> Response:
        if stream:

            async def chunks() -> Any:
                for i in range(3):
                    yield body + str(i).encode()

            return StreamingResponse(chunks(), media_type=ctype)
        return Response(body, media_type=ctype)

    return Compression(Starlette(routes=[Route("/", route)]))


TEXT = b'{"communes": [' + b'{"code": "17254", "name": "Ch\xc3\xa2u Kh\xc3\xaa"}, ' * 80 + b"]}"


@pytest.mark.parametrize(
    "ctype", ["application/pdf", "image/png", "application/zip", "application/octet-stream"]
)
def test_pdfs_and_compressed_types_are_never_compressed(ctype):
    client = TestClient(_app(TEXT, ctype))
    r, body = raw(client, "/", BR)
    assert "content-encoding" not in r.headers and body == TEXT


@pytest.mark.parametrize(
    "ctype", ["image/svg+xml", "text/csv; charset=utf-8", "application/problem+json"]
)
def test_other_text_types_are_compressed(ctype):
    r, body = raw(TestClient(_app(TEXT, ctype)), "/", GZ)
    assert r.headers["content-encoding"] == "gzip" and gzip.decompress(body) == TEXT


def test_below_the_minimum_size_nothing_is_compressed():
    client = TestClient(_app(b"x" * (MIN_SIZE - 1), "application/json"))
    r, body = raw(client, "/", BR)
    assert "content-encoding" not in r.headers and len(body) == MIN_SIZE - 1
    assert r.headers["vary"] == "Accept-Encoding"
    client = TestClient(_app(b"x" * MIN_SIZE, "application/json"))
    assert raw(client, "/", BR)[0].headers["content-encoding"] == "br"


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_stream_still_streams_each_chunk_flushed(encoding):
    client = TestClient(_app(TEXT, "application/x-ndjson+json", stream=True))
    with client.stream("GET", "/", headers={"Accept-Encoding": encoding}) as r:
        assert r.headers["content-encoding"] == encoding
        assert "content-length" not in r.headers
        parts = [p for p in r.iter_raw() if p]
    assert len(parts) >= 3, "one compressed piece per chunk, not one at the end"
    if encoding == "br":
        out = brotli.Decompressor()
        first = out.process(parts[0])
    else:
        gz = zlib.decompressobj(31)
        first = gz.decompress(parts[0])
    assert first == TEXT + b"0", "the first chunk can be read before the second is sent"


def test_server_sent_events_pass_uncompressed():
    client = TestClient(_app(b"data: " + TEXT + b"\n\n", "text/event-stream", stream=True))
    r, body = raw(client, "/", BR)
    assert "content-encoding" not in r.headers and body.startswith(b"data: ")


def test_static_assets_by_fingerprint_are_immutable(site):
    pages = page_client(site, "dongha")
    html = pages.get("/commune").text
    urls = re.findall(r'(?:src|href)="(/static/app/[^"]+)"', html)
    assert any(u.startswith("/static/app/app.js?v=") for u in urls), urls
    assert any(u.startswith("/static/app/app.css?v=") for u in urls), urls
    for url in [*urls, LEAFLET_JS]:
        r = site.client.get(url)
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable", url
    # not by its current fingerprint: revalidated, by its ETag
    for url in ("/static/app/app.js", "/static/app/app.js?v=0123456789"):
        r = site.client.get(url, headers=BR)
        assert r.headers["cache-control"] == "no-cache", url
        again = site.client.get(url, headers={**BR, "If-None-Match": r.headers["etag"]})
        assert again.status_code == 304, url


def test_pages_are_revalidated_by_etag(site):
    r = page_client(site, "dongha").get("/login")
    assert "no-cache" in r.headers["cache-control"] and "private" in r.headers["cache-control"]
    assert r.headers["etag"]


def test_manifest_and_service_worker(site):
    m = site.client.get("/manifest.webmanifest?lang=en", headers=BR)
    assert m.headers["content-type"].startswith("application/manifest+json")
    assert m.json()["start_url"] == "/" and m.json()["icons"]
    sw = site.client.get("/sw.js")
    assert sw.headers["content-type"].startswith("text/javascript")
    assert sw.headers["cache-control"] == "no-cache"
    assert "/*ASSETS*/" not in sw.text and LEAFLET_JS in sw.text
    html = page_client(site, "dongha").get("/commune").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert 'id="lx-data-at"' in html and "Dữ liệu lúc" in html
