"""The geodata cache on disk (api/geocache.py): computed once per machine, keyed by the
boundaries file's content and the code, checked on every read, rebuilt when damaged."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
from pathlib import Path

import networkx as nx
import pytest

from tests.fast.conftest import settings_for, write_boundaries


def test_a_second_worker_reads_the_graph_and_display_geometry_instead_of_computing(tmp_path):
    from api.main import load_geodata

    settings = settings_for(tmp_path, write_boundaries(tmp_path / "b.geojson"))
    first = load_geodata(settings)
    assert first.ready.wait(30)
    assert first.display.computed == 1
    second = load_geodata(settings)
    assert second.ready.wait(30)
    assert second.display.computed == 0  # read from disk
    assert nx.utils.graphs_equal(first.graph, second.graph)
    assert first.graph.graph == second.graph.graph
    (a, pa), (b, pb) = first.display.get(), second.display.get()
    assert list(a.index) == list(b.index)
    assert list(a.columns) == list(b.columns)
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert all(x.equals_exact(y, 0) for x, y in zip(a.geometry, b.geometry, strict=True))
    assert list(pa.columns) == list(pb.columns)
    assert all(x.equals_exact(y, 0) for x, y in zip(pa.geometry, pb.geometry, strict=True))
    assert a.crs == b.crs
    assert pa.crs == pb.crs
    files = sorted(p.name.split("-", 1)[1] for p in (tmp_path / "cache").glob("*.bin"))
    assert files == ["display-all-detail.bin", "graph.bin"]


def test_another_boundaries_file_is_another_key(tmp_path):
    from api.geocache import cache_key

    one = write_boundaries(tmp_path / "one.geojson")
    two = tmp_path / "two.geojson"
    two.write_bytes(one.read_bytes().replace(b"8000", b"8001"))
    assert cache_key(one, None) == cache_key(one, None)
    assert cache_key(one, None) != cache_key(two, None)
    assert cache_key(one, None) != cache_key(one, "other_layer")


def _cache(tmp_path: Path):
    from api.geocache import DiskCache

    return DiskCache(tmp_path / "cache", "k" * 32)


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "foreign_class"])
def test_a_damaged_cache_file_is_detected_and_rebuilt_never_trusted(tmp_path, damage):
    import hashlib

    from api.geocache import MAGIC

    cache = _cache(tmp_path)
    assert cache.cached("graph", lambda: {"value": 1}) == {"value": 1}
    path = cache.path("graph")
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-3] ^= 0x40
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "empty":
        raw = bytearray()
    else:  # a well-formed file whose payload would run code when unpickled
        payload = pickle.dumps(os.system)
        raw = bytearray(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    path.write_bytes(bytes(raw))
    again = _cache(tmp_path)
    assert again.cached("graph", lambda: {"value": 2}) == {"value": 2}
    assert again.computed == ["graph"]
    assert _cache(tmp_path).cached("graph", lambda: {"value": 3}) == {"value": 2}


def _compute_in_a_worker(directory: str, log: str) -> None:
    from api.geocache import DiskCache

    def slow() -> dict[str, int]:
        with open(log, "a") as f:
            f.write("computed\n")
        time.sleep(0.5)
        return {"answer": 42}

    assert DiskCache(Path(directory), "k" * 32).cached("graph", slow) == {"answer": 42}


def test_workers_starting_together_compute_once_per_machine(tmp_path):
    log = tmp_path / "log"
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_compute_in_a_worker, args=(str(tmp_path / "cache"), str(log)))
        for _ in range(3)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    assert log.read_text() == "computed\n"


def test_a_cache_that_cannot_be_written_still_serves(tmp_path, monkeypatch):
    from api.geocache import DiskCache

    cache = _cache(tmp_path)

    def no_space(self, name, payload):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(DiskCache, "write", no_space)
    assert cache.cached("graph", lambda: [1, 2]) == [1, 2]
    assert not cache.path("graph").exists()


def test_display_warm_up_runs_alongside_the_graph_on_its_own_frame(tmp_path, monkeypatch):
    # the overview's display geometry starts before the graph is built (a cold nationwide
    # start uses both cores) and works on a frame of its own: the graph's warnings go to the
    # boundaries' report, which the display thread never copies while it grows
    import threading

    import geo.adjacency
    import maps.simplify
    from api.main import load_geodata

    display_started = threading.Event()
    seen: list[bool] = []
    build, simplify = geo.adjacency.build_graph, maps.simplify.display_geometry

    def watching_simplify(gdf, **kw):
        display_started.set()
        return simplify(gdf, **kw)

    def watching_build(gdf, **kw):
        seen.append(display_started.wait(10))  # before: the display began after the graph
        return build(gdf, **kw)

    monkeypatch.setattr(maps.simplify, "display_geometry", watching_simplify)
    monkeypatch.setattr(geo.adjacency, "build_graph", watching_build)
    settings = settings_for(tmp_path, write_boundaries(tmp_path / "b.geojson"))
    geo_data = load_geodata(settings)
    assert geo_data.ready.wait(30)
    assert seen == [True]
    assert "report" in geo_data.gdf.attrs
    assert geo_data.display.gdf.attrs == {}
    assert list(geo_data.display.gdf.index) == list(geo_data.gdf.index)


def _start_a_worker(data_dir: str, boundaries: str, out: str) -> None:
    import geo.adjacency
    import maps.simplify
    from api.main import load_geodata

    def slowly(compute):  # as long as a nationwide computation, relatively: the starts overlap
        def run(*args, **kw):
            time.sleep(2)
            return compute(*args, **kw)

        return run

    geo.adjacency.build_graph = slowly(geo.adjacency.build_graph)
    maps.simplify.display_geometry = slowly(maps.simplify.display_geometry)
    data = load_geodata(settings_for(Path(data_dir), Path(boundaries)))
    assert data.ready.wait(60)
    store = data.display.store
    computed = [] if store is None else store.computed
    Path(out).write_text(",".join(sorted(computed)))


def test_two_workers_starting_together_compute_the_graph_and_overview_once(tmp_path):
    # the expensive parts of a cold start run in one process of the machine; the other
    # worker waits on the lock and reads what the first wrote
    boundaries = write_boundaries(tmp_path / "b.geojson")
    ctx = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"worker{i}.txt" for i in range(2)]
    workers = [
        ctx.Process(target=_start_a_worker, args=(str(tmp_path), str(boundaries), str(out)))
        for out in outs
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    computed = sorted(name for out in outs for name in out.read_text().split(",") if name)
    assert computed == ["display-all-detail", "graph"]
