"""GEOS work spread over the machine's cores, in threads of one process.

Shapely releases the GIL while GEOS computes (its documentation's "Multithreading"), so a
vectorised call over many geometries, cut into one contiguous chunk per core, runs on all the
cores at once, and so do independent scalar calls (one pair of units each). The geometries are
only read. What is small is run as it is: below :data:`MIN_WEIGHT` (vertices, or items) the
threads would cost more than they save.

``LIENXA_THREADS`` caps the threads (``1``: none), e.g. on a server whose other workers keep the
cores busy; by default, the cores this process may run on.

A job can also run *ahead* (:func:`ahead`), in a thread of its own on one core, while the
caller goes on with other work: so that two stages that need not wait for each other (the
shared-edge pass and the validation of the same geometries) overlap instead of each being split
between the cores in turn, which costs CPU (threads waiting on each other) for wall time. While
it runs, the job's own calls here take one thread, and everyone else's one fewer.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")

#: Below this much work (vertices for :func:`chunked`, items for :func:`each`) no threads.
MIN_WEIGHT = 100_000
MIN_ITEMS = 16
#: At most this many threads, whatever the machine.
MAX_THREADS = 8


#: Cores taken by jobs running :func:`ahead`, and whether this thread is one of them.
_ahead_lock = threading.Lock()
_ahead_running = 0
_local = threading.local()


def threads() -> int:
    """How many threads to use: ``LIENXA_THREADS`` if set, else the cores this process may run
    on, at most :data:`MAX_THREADS`; less one per job running :func:`ahead` (in such a job:
    one)."""
    if getattr(_local, "ahead", False):
        return 1
    return max(1, _configured() - _ahead_running)


def _configured() -> int:
    """The threads ``LIENXA_THREADS`` or the cores allow."""
    setting = os.environ.get("LIENXA_THREADS", "").strip()
    if setting.isdigit() and int(setting) > 0:
        return min(int(setting), MAX_THREADS)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_THREADS))


def chunked(
    fn: Callable[..., np.ndarray],
    *arrays: np.ndarray,
    weights: np.ndarray,
    min_weight: int | None = None,
) -> np.ndarray:
    """``fn(*arrays)`` for a vectorised ``fn`` (one result per element, e.g. ``shapely.is_valid``),
    computed on contiguous chunks of about equal ``weights`` (e.g. vertices), one per thread,
    and concatenated in order: the same result as one call (below ``min_weight``, default
    :data:`MIN_WEIGHT`, one call)."""
    n = threads()
    total = float(np.sum(weights)) if len(weights) else 0.0
    if n < 2 or total < (MIN_WEIGHT if min_weight is None else min_weight) or len(weights) < 2:
        return fn(*arrays)
    cuts = np.searchsorted(np.cumsum(weights), total * np.arange(1, n) / n)
    bounds = [0, *sorted({int(c) for c in cuts if 0 < c < len(weights)}), len(weights)]
    slices = [slice(a, b) for a, b in itertools.pairwise(bounds)]
    with ThreadPoolExecutor(len(slices), thread_name_prefix="lienxa-geos") as pool:
        parts = list(pool.map(lambda s: fn(*(a[s] for a in arrays)), slices))
    return np.concatenate(parts)


def each(fn: Callable[[T], R], items: Sequence[T], *, min_items: int | None = None) -> list[R]:
    """``[fn(x) for x in items]``, the calls shared among threads, in order (fewer items than
    ``min_items``, default :data:`MIN_ITEMS`: here)."""
    n = threads()
    if n < 2 or len(items) < (MIN_ITEMS if min_items is None else min_items):
        return [fn(x) for x in items]
    with ThreadPoolExecutor(n, thread_name_prefix="lienxa-geos") as pool:
        return list(pool.map(fn, items))


class Ahead(Generic[R]):
    """A job started by :func:`ahead`: :meth:`result` waits for it."""

    def __init__(self, fn: Callable[[], R]) -> None:
        self._future: Future[R] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(fn,), name="lienxa-ahead", daemon=True
        )

    def _run(self, fn: Callable[[], R]) -> None:
        global _ahead_running
        _local.ahead = True
        failed: BaseException | None = None
        try:
            value = fn()
        except BaseException as exc:  # handed to whoever asks for the result
            failed = exc
        # the core is given back before the result is: whoever it wakes has every thread
        with _ahead_lock:
            _ahead_running -= 1
        if failed is None:
            self._future.set_result(value)
        else:
            self._future.set_exception(failed)

    def _start(self) -> None:
        """Take a core for the job (see :func:`threads`) and start it."""
        global _ahead_running
        with _ahead_lock:
            _ahead_running += 1
        self._thread.start()

    def result(self) -> R:
        """The job's result once it has ended (its exception, raised here, if it failed)."""
        return self._future.result()


def ahead(fn: Callable[..., R], *args: object) -> Ahead[R] | None:
    """Start ``fn(*args)`` in a thread of its own, on one core, and return at once (None, and
    nothing started, when :func:`threads` is 1: there is no core to run it beside the caller,
    who should then call ``fn`` when it needs the result). A daemon thread: a process that
    ends (or fails) before asking for the result does not wait for it."""
    if threads() < 2:
        return None
    job = Ahead(lambda: fn(*args))
    job._start()
    return job
