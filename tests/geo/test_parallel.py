"""GEOS work in threads (:mod:`geo.parallel`): the same results as one call, in order, and
really on several threads when there is enough work."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import shapely

from geo import parallel
from geo.adjacency import build_adjacency, edges_frame


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.setenv("LIENXA_THREADS", "2")


def test_threads_follow_the_setting(monkeypatch):
    monkeypatch.setenv("LIENXA_THREADS", "1")
    assert parallel.threads() == 1
    monkeypatch.setenv("LIENXA_THREADS", "3")
    assert parallel.threads() == 3
    monkeypatch.setenv("LIENXA_THREADS", "lots")  # not a number: the machine's cores
    assert 1 <= parallel.threads() <= parallel.MAX_THREADS


def test_chunked_is_one_call_cut_in_order(two_threads):
    geoms = shapely.buffer(shapely.points(np.arange(50.0), np.zeros(50)), np.linspace(0.1, 3, 50))
    calls: list[tuple[int, str]] = []

    def area(g: np.ndarray) -> np.ndarray:
        calls.append((len(g), threading.current_thread().name))
        return shapely.area(g)

    weights = shapely.get_num_coordinates(geoms)
    got = parallel.chunked(area, geoms, weights=weights, min_weight=0)
    assert np.array_equal(got, shapely.area(geoms))
    assert len(calls) == 2 and sum(n for n, _ in calls) == 50
    assert all(name.startswith("lienxa-geos") for _, name in calls)
    calls.clear()  # too little work: one call, here
    parallel.chunked(area, geoms, weights=weights, min_weight=10**9)
    assert calls == [(50, threading.current_thread().name)]


def test_each_keeps_the_order(two_threads):
    names: set[str] = set()

    def square(x: int) -> int:
        names.add(threading.current_thread().name)
        return x * x

    assert parallel.each(square, list(range(40)), min_items=1) == [x * x for x in range(40)]
    assert len(names) >= 1 and all(n.startswith("lienxa-geos") for n in names)


def test_graph_in_threads_is_the_graph_in_one(nghe_an_gdf, monkeypatch):
    """Nghệ An with every threshold at 0 (all of its work cut among threads) against no
    threads: the same edges, borders and kinds."""
    monkeypatch.setattr(parallel, "MIN_WEIGHT", 0)
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setenv("LIENXA_THREADS", "1")
    one = edges_frame(build_adjacency(nghe_an_gdf))
    monkeypatch.setenv("LIENXA_THREADS", "2")
    several = edges_frame(build_adjacency(nghe_an_gdf))
    assert len(one) > 300
    assert one.equals(several)


def test_a_job_ahead_runs_beside_the_caller_on_one_core(two_threads):
    """:func:`geo.parallel.ahead` runs its job in another thread while the caller goes on; in
    the job, calls here take one thread; beside it, everyone else's one fewer; after it, all."""
    release = threading.Event()
    seen: dict[str, object] = {}

    def job(x: int) -> int:
        seen["thread"] = threading.current_thread().name
        seen["threads_inside"] = parallel.threads()
        release.wait(30)
        return x * 2

    started = parallel.ahead(job, 21)
    assert started is not None
    assert parallel.threads() == 1  # two allowed, one taken by the job
    release.set()
    assert started.result() == 42
    assert seen == {"thread": "lienxa-ahead", "threads_inside": 1}
    assert parallel.threads() == 2


def test_a_failed_job_ahead_raises_where_its_result_is_asked_for(two_threads):
    def job() -> None:
        raise ValueError("more than 4 billion vertices")

    started = parallel.ahead(job)
    assert started is not None
    with pytest.raises(ValueError, match="4 billion"):
        started.result()
    assert parallel.threads() == 2


def test_nothing_runs_ahead_on_one_thread(monkeypatch):
    monkeypatch.setenv("LIENXA_THREADS", "1")
    assert parallel.ahead(lambda: 1) is None
