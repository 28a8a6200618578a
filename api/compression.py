"""Light on the wire: compressed responses and cache headers, as one pure-ASGI middleware.

:class:`Compression` compresses a response with Brotli or gzip, whichever the client's
``Accept-Encoding`` prefers (Brotli on a tie), when its type is text-like (HTML, JSON, GeoJSON,
JavaScript, CSS, SVG, CSV, plain text), it is at least :data:`MIN_SIZE` bytes and it is not
compressed already; every response of a compressible type gets ``Vary: Accept-Encoding``, so a
cache never hands a compressed body to a client that did not ask for one. PDFs, images and
archives pass untouched.

A response sent in one piece (a page, a map, a JSON answer, a static file) is compressed whole;
a streamed one (several body messages) is compressed chunk by chunk, each flushed, so it still
streams; ``text/event-stream`` is never touched. Static files keep their (now weak) ETag, and
their compressed bodies are kept by ETag (:data:`CACHE_ENTRIES`): Leaflet's 150 KB script is
compressed once per process, not per request. A large page with an ETag of its route's (a map:
megabytes of HTML whose nonce follows its key) is kept compressed by the digest of its body
(:data:`KEEP_PAGES_FROM` bytes up): a warm nationwide overview is not compressed again (70–100 ms
of CPU a request), and a body that differs (another nonce) is another entry, never a wrong one.

Pages (``text/html`` answers with no ``Cache-Control`` of their own) get
``Cache-Control: private, no-cache`` and an ETag of their body, and a ``304`` when the
browser already holds that body. Fingerprinted static files are handled by
:mod:`api.web.assets`.

It is added last (outermost) in :func:`api.main.create_app`: it sees the body after
:class:`api.middleware.SecurityHeaders` has put its nonces in, and compresses the errors the
body limit and input bounds answer from the ASGI layer like any other answer.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections import OrderedDict
from typing import Any

import brotli
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Smaller bodies are sent as they are: compression would save less than a packet.
MIN_SIZE = 500
#: A body of a known length up to this, sent in pieces (a static file), is compressed whole.
BUFFER_MAX = 8 * 1024 * 1024
#: Compressed static bodies kept, by (ETag, encoding), and large pages, by (digest, encoding).
CACHE_ENTRIES = 64
#: Pages with an ETag at least this large are kept compressed, by the digest of their body.
KEEP_PAGES_FROM = 256 * 1024
COMPRESSIBLE = (
    "text/html",
    "text/css",
    "text/javascript",
    "text/plain",
    "text/csv",
    "text/xml",
    "application/javascript",
    "application/json",
    "application/geo+json",
    "application/manifest+json",
    "application/xml",
    "image/svg+xml",
)
#: Brotli quality for answers made per request (11 is far slower for a few % less) and
#: for static files, compressed once.
BR_QUALITY = 5
BR_STATIC_QUALITY = 11
GZIP_LEVEL = 6


def compressible(ctype: str) -> bool:
    """Whether a ``Content-Type`` is text-like (``application/*+json`` included)."""
    base = ctype.split(";")[0].strip().lower()
    return base in COMPRESSIBLE or base.endswith("+json")


def choose(accept: str) -> str | None:
    """``"br"``, ``"gzip"`` or ``None`` from an ``Accept-Encoding`` header, by its q-values
    (Brotli on a tie; ``*`` stands for both; ``q=0`` refuses)."""
    q: dict[str, float] = {}
    for part in accept.lower().split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip()
        weight = 1.0
        for p in params.split(";"):
            key, _, value = p.strip().partition("=")
            if key == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if name:
            q[name] = weight
    star = q.get("*")
    best: tuple[float, str] | None = None
    for enc in ("br", "gzip"):  # br first: it wins a tie
        w = q.get(enc, star if star is not None else 0.0)
        if w > 0 and (best is None or w > best[0]):
            best = (w, enc)
    return best[1] if best else None


def compress(body: bytes, encoding: str, *, quality: int = BR_QUALITY) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(body, quality=quality))
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


class Streamer:
    """Compress a streamed body chunk by chunk, flushing each so the client sees it at once."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.br: Any = brotli.Compressor(quality=BR_QUALITY) if encoding == "br" else None
        self.gz = None if self.br else zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)

    def chunk(self, data: bytes, *, last: bool) -> bytes:
        if self.br is not None:
            out = self.br.process(data) + (self.br.finish() if last else self.br.flush())
            return bytes(out)
        assert self.gz is not None
        return self.gz.compress(data) + self.gz.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def weak(etag: bytes) -> bytes:
    return etag if etag.startswith(b"W/") else b"W/" + etag


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def _set(
    headers: list[tuple[bytes, bytes]], name: bytes, value: bytes
) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.lower() != name] + [(name, value)]


def _vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    vary = _header(headers, b"vary")
    if vary is None:
        return [*headers, (b"vary", b"Accept-Encoding")]
    if b"accept-encoding" in vary.lower():
        return headers
    return _set(headers, b"vary", vary + b", Accept-Encoding")


class Compression:
    """Brotli or gzip on compressible answers; cache headers on pages (module docstring).

    ``enabled=False`` (``LIENXA_COMPRESSION=0``) sends every body as it is: the "before" of
    ``bench/bench_wire.py``.
    """

    def __init__(self, app: ASGIApp, *, enabled: bool = True, min_size: int = MIN_SIZE) -> None:
        self.app = app
        self.enabled = enabled
        self.min_size = min_size
        self.cache: OrderedDict[tuple[bytes, str], bytes] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = dict(scope.get("headers") or [])
        accept = request_headers.get(b"accept-encoding", b"").decode("latin-1")
        encoding = choose(accept) if self.enabled else None
        if_none_match = request_headers.get(b"if-none-match", b"")
        head = scope.get("method") == "HEAD"
        start: Message | None = None
        streamer: Streamer | None = None
        passing = False
        pending: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start, streamer, passing
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                ctype = (_header(headers, b"content-type") or b"").decode("latin-1")
                status = int(message.get("status", 200))
                if (
                    not compressible(ctype)
                    or ctype.startswith("text/event-stream")
                    or status in (204, 206, 304)
                    or status < 200
                ):
                    passing = True
                    await send(message)
                    return
                headers = _vary(headers)
                if _header(headers, b"content-encoding") is not None or head:
                    passing = True
                    await send({**message, "headers": headers})
                    return
                start = {**message, "headers": headers}
                return
            if passing or start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if streamer is not None:
                await send({**message, "body": streamer.chunk(body, last=not more)})
                return
            length = _header(start["headers"], b"content-length")
            if more and length is not None and int(length) <= BUFFER_MAX:
                pending.append(body)  # a file sent in pieces: compressed whole
                return
            if pending:
                body = b"".join([*pending, body])
                pending.clear()
            if more:  # a stream: compressed as it goes, never waited for
                if encoding is None:
                    passing = True
                    await send(start)
                    await send(message)
                    return
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                streamer = Streamer(encoding)
                await send({**start, "headers": _encoded(headers, encoding)})
                await send({**message, "body": streamer.chunk(body, last=False)})
                return
            await self.whole(send, start, body, encoding, if_none_match)

        await self.app(scope, receive, wrapped)

    async def whole(
        self, send: Send, start: Message, body: bytes, encoding: str | None, if_none_match: bytes
    ) -> None:
        """A body sent in one piece: compressed when it is worth it; a page gets its ETag."""
        headers: list[tuple[bytes, bytes]] = list(start["headers"])
        status = int(start.get("status", 200))
        ctype = (_header(headers, b"content-type") or b"").decode("latin-1")
        etag = _header(headers, b"etag")
        tagged = etag is not None  # by the route itself (a map), not of the body as below
        if (
            ctype.startswith("text/html")
            and status == 200
            and _header(headers, b"cache-control") is None
        ):
            headers.append((b"cache-control", b"private, no-cache"))
            if etag is None:
                etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
                headers.append((b"etag", etag))
            if etag.strip(b"W/") in [t.strip().strip(b"W/") for t in if_none_match.split(b",")]:
                kept = [
                    (k, v)
                    for k, v in headers
                    if k.lower() not in (b"content-length", b"content-type")
                ]
                await send({**start, "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
        if encoding is not None and len(body) >= self.min_size:
            static = etag is not None and not ctype.startswith("text/html")
            if tagged and not static and len(body) >= KEEP_PAGES_FROM:
                body = self.squeeze_page(body, encoding)
            else:
                body = self.squeeze(body, encoding, etag if static else None)
            headers = _encoded(headers, encoding)
            if etag is not None:
                headers = _set(headers, b"etag", weak(etag))
        headers = _set(headers, b"content-length", str(len(body)).encode())
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def squeeze(self, body: bytes, encoding: str, etag: bytes | None) -> bytes:
        """``body`` compressed; a static file's (it has an ETag) from the cache after once."""
        if etag is None:
            return compress(body, encoding)
        key = (etag, encoding)
        found = self.cache.get(key)
        if found is None:
            found = compress(body, encoding, quality=BR_STATIC_QUALITY)
            self.cache[key] = found
            while len(self.cache) > CACHE_ENTRIES:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(key)
        return found

    def squeeze_page(self, body: bytes, encoding: str) -> bytes:
        """A large page compressed, kept by the digest of its body (module docstring)."""
        key = (b"page:" + hashlib.blake2b(body, digest_size=16).digest(), encoding)
        found = self.cache.get(key)
        if found is None:
            found = compress(body, encoding)
            self.cache[key] = found
            while len(self.cache) > CACHE_ENTRIES:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(key)
        return found


def _encoded(headers: list[tuple[bytes, bytes]], encoding: str) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.lower() != b"content-length"] + [
        (b"content-encoding", encoding.encode())
    ]
