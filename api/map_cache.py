"""Rendered map pages kept per worker, keyed by what they show.

A nationwide overview is megabytes of HTML that Folium takes seconds to render; the same map is
asked for again and again while nothing changes (every leader's page links it). Each route
names the inputs of its map — the area, the language, the tiles and a digest of the data drawn
(risk levels, open requests, the plan, the rules) — and :meth:`RenderedPages.get` renders only
when that key is new. The key is also the page's ``ETag``: a browser that has the page gets a
``304`` with no body, which matters most on a slow link.

Bounded by bytes (least recently used pages dropped first); one lock per worker, and a render
happens outside it, so two different maps render at once; callers asking for the same page
while it renders (the first visitors of a fresh nationwide server) wait for that one render
(seconds of CPU) instead of repeating it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

#: Bytes of rendered pages a worker keeps (a nationwide overview is ~3.5 MB).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def page_key(kind: str, **inputs: Any) -> str:
    """A short, stable digest of a map's kind and inputs (JSON-able values; dict keys sorted)."""
    blob = json.dumps([kind, inputs], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class RenderedPages:
    """An LRU of rendered pages, ``key -> bytes``, at most ``max_bytes`` in all."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._rendering: dict[str, threading.Lock] = {}  # one per page being rendered
        self.renders = 0  # how many times a page was rendered (for tests and /metrics-like use)

    def get(self, key: str, render: Callable[[], str]) -> bytes:
        """The page for ``key``, rendered by ``render()`` when not kept."""
        page = self._kept(key)
        if page is not None:
            return page
        with self._lock:
            rendering = self._rendering.setdefault(key, threading.Lock())
        with rendering:
            page = self._kept(key)  # rendered by another caller while this one waited
            if page is not None:
                return page
            try:
                body = render().encode()
            finally:
                with self._lock:
                    self._rendering.pop(key, None)
            with self._lock:
                self.renders += 1
                if key not in self._pages and len(body) <= self.max_bytes:
                    self._pages[key] = body
                    self._size += len(body)
                    while self._size > self.max_bytes:
                        _, old = self._pages.popitem(last=False)
                        self._size -= len(old)
        return body

    def _kept(self, key: str) -> bytes | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def __len__(self) -> int:
        return len(self._pages)
