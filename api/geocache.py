"""The geodata cache on disk: the adjacency graph and the display geometry of the boundaries,
computed once per machine (not once per worker) and read back in a fraction of a second.

- **Key**: the sha256 of the boundaries file's content, its layer, and a code version (the
  sha256 of the sources that compute what is cached, ``geo/*.py``, ``maps/simplify.py`` and
  ``maps/snap.py``, with the versions of shapely, networkx and geopandas). Another file, or
  another code, is another key: nothing stale is ever read.
- **Files**: ``<cache_dir>/<key>-<name>.bin`` (``cache_dir``: ``LIENXA_CACHE_DIR``, default
  ``LIENXA_DATA_DIR/cache``), each a magic line, the sha256 of the payload, then the payload.
  A file whose magic, digest or content does not check out is deleted and rebuilt, never
  trusted; a file is written to a temporary name and renamed, so a reader never sees half.
- **Format**: pickle of plain values only (the graph as its attributes, node and edge lists;
  the display geometry as WKB bytes), read by an unpickler restricted to an allow-list of
  builtin classes: unpickling a tampered file cannot run code, and the
  digest catches a damaged one.
- **One computation per machine**: a worker that finds no valid file takes an exclusive
  ``flock`` on ``<key>-<name>.lock`` and looks again before computing; the other workers wait
  on the lock and then read what the first one wrote.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import logging
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)
_T = TypeVar("_T")

MAGIC = b"LIENXA-GEOCACHE 1\n"
ROOT = Path(__file__).resolve().parent.parent
#: classes a cache file may name, by module: everything else refuses to unpickle
ALLOWED = {
    "builtins": {"dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float"},
    "numpy": {"dtype"},
    "numpy.core.multiarray": {"scalar"},
    "numpy._core.multiarray": {"scalar"},
    "collections": {"OrderedDict"},
}


class CorruptCache(ValueError):
    """A cache file that does not check out."""


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in ALLOWED.get(module, ()):
            return super().find_class(module, name)
        raise CorruptCache(f"cache file names a class it may not: {module}.{name}")


def dumps(obj: object) -> bytes:
    """``obj`` as a cache payload (pickle protocol 5)."""
    return pickle.dumps(obj, protocol=5)


def loads(data: bytes) -> Any:
    """The object of a payload, refusing any class outside :data:`ALLOWED`."""
    return _SafeUnpickler(io.BytesIO(data)).load()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's content."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache
def code_version() -> str:
    """The sha256 of the code that computes what is cached, and of its libraries' versions."""
    import geopandas
    import networkx
    import shapely

    h = hashlib.sha256(MAGIC)
    sources = [
        *sorted((ROOT / "geo").glob("*.py")),
        *(ROOT / "maps" / name for name in ("simplify.py", "snap.py")),
    ]
    for src in sources:
        h.update(src.name.encode() + b"\0" + src.read_bytes())
    for lib in (shapely, networkx, geopandas):
        h.update(f"{lib.__name__}={lib.__version__}".encode())
    return h.hexdigest()


def cache_key(boundaries: Path, layer: str | None, *, extra: Path | None = None) -> str:
    """The key of a boundaries file (its content and layer) under this code; ``extra`` is a
    file that changes what is built from it (the official population table), hashed too."""
    h = hashlib.sha256()
    extra_hash = file_sha256(extra) if extra is not None else ""
    for part in (file_sha256(boundaries), layer or "", extra_hash, code_version()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:32]


class DiskCache:
    """Named payloads of one key in a directory, checked on read, computed once per machine."""

    def __init__(self, directory: Path, key: str) -> None:
        self.directory = directory
        self.key = key
        self.computed: list[str] = []  # names computed here (not read): for tests and logs
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.directory / f"{self.key}-{name}.bin"

    def read(self, name: str) -> bytes | None:
        """The payload of ``name``, or None when absent or when it does not check out (the bad
        file is then removed)."""
        path = self.path(name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        n = len(MAGIC)
        head, digest, payload = raw[:n], raw[n : n + 65], raw[n + 65 :]
        if head != MAGIC or digest != hashlib.sha256(payload).hexdigest().encode() + b"\n":
            self._discard(path, "its digest does not match")
            return None
        return payload

    def write(self, name: str, payload: bytes) -> None:
        """Store ``payload`` under ``name`` atomically (temporary file, fsync, rename)."""
        digest = hashlib.sha256(payload).hexdigest().encode()
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{name}-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + digest + b"\n" + payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path(name))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock on ``name`` between the processes of this machine."""
        with (self.directory / f"{self.key}-{name}.lock").open("a") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def _discard(self, path: Path, why: str) -> None:
        log.warning("geodata cache %s ignored and rebuilt: %s", path, why)
        path.unlink(missing_ok=True)

    def _decoded(self, name: str, decode: Callable[[Any], _T]) -> _T | None:
        payload = self.read(name)
        if payload is None:
            return None
        try:
            return decode(loads(payload))
        except Exception as exc:  # a damaged or foreign payload: rebuilt, never trusted
            self._discard(self.path(name), f"it does not decode ({exc})")
            return None

    def cached(
        self,
        name: str,
        compute: Callable[[], _T],
        encode: Callable[[_T], object] = lambda v: v,
        decode: Callable[[Any], _T] = lambda v: v,
    ) -> _T:
        """``name`` read from disk, or computed (by one process of the machine) and stored."""
        found = self._decoded(name, decode)
        if found is not None:
            return found
        with self.lock(name):
            found = self._decoded(name, decode)  # another worker may have written it meanwhile
            if found is not None:
                return found
            value = compute()
            self.computed.append(name)
            try:
                self.write(name, dumps(encode(value)))
            except OSError as exc:  # a full or read-only disk: serve anyway, uncached
                log.warning("geodata cache %s not written: %s", self.path(name), exc)
            return value


def encode_graph(G: nx.Graph) -> dict[str, Any]:
    """The graph as plain values: its attributes, nodes and edges with their data, in order."""
    return {
        "graph": dict(G.graph),
        "nodes": list(G.nodes(data=True)),
        "edges": list(G.edges(data=True)),
    }


def decode_graph(data: dict[str, Any]) -> nx.Graph:
    """The graph of :func:`encode_graph`."""
    import networkx as nx

    G = nx.Graph(**data["graph"])
    G.add_nodes_from(data["nodes"])
    G.add_edges_from(data["edges"])
    return G
