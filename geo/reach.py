"""Hop-limited cheapest paths from many sources at once, as flat arrays: the planner's reach.

:func:`reach_table` gives exactly what :func:`geo.paths.hop_limited_paths` gives from each
source — the same costs and the same paths, ties broken the same way — but walks every source
in the same few array operations per hop instead of a Python loop per link, and keeps a path as
a row of node positions until someone asks for it (a plan turns only the paths it uses into
tuples). :func:`geo.paths.hop_limited_paths` stays the reference: the plan check uses it, and
the tests hold the two equal on real and random graphs.

How the tie-break carries over. ``hop_limited_paths`` is a Bellman-Ford limited to ``max_hops``
rounds in which every node keeps the least ``(cost, path)``, paths compared as tuples of codes.
Here nodes are numbered in code order, so comparing paths as rows of numbers is comparing them
as tuples of codes. In one round every candidate path to a node ``v`` is the path of a frontier
node ``u`` followed by ``v``, all of the same length; with the frontier kept in path order, the
least candidate is the least ``(cost, rank of u)``: two passes of ``np.minimum.at``. Against
what a node already holds (a shorter path from an earlier round) the costs decide; on equal
cost the rows are compared where they first differ (never past the shorter one's end: a simple
path cannot hold its last node twice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

__all__ = ["ReachTable", "reach_table"]

#: Cells (sources × nodes) walked together: the dense scratch arrays of one block hold this
#: many entries (2 MB each), small enough to stay in cache, and memory stays flat however many
#: sources a plan has.
BLOCK_CELLS = 1 << 18

_NONE = np.iinfo(np.int64).max

#: Path keys (a parent's key × n + the last node) are ranked afresh before they could pass this.
KEY_LIMIT = 1 << 62


@dataclass(frozen=True)
class ReachTable:
    """Every receiver's reach, flattened: receiver ``k`` (in code order) reaches the communes
    ``index[ptr[k]:ptr[k+1]]`` (positions in ``codes``, in code order) at ``cost[...]``
    (integer thousandths of a minute), along the path ``steps[...]`` (positions from the
    receiver, ``-1`` past the path's end). A receiver never reaches itself."""

    codes: list[str]
    position: dict[str, int]
    receivers: list[str]
    row: dict[str, int]
    ptr: np.ndarray
    index: np.ndarray
    cost: np.ndarray
    steps: np.ndarray
    #: per position in ``codes``, its receiver row (``-1``: not a receiver)
    row_at: np.ndarray
    #: per entry, ``receiver row × len(codes) + index``: increasing, for lookups
    key: np.ndarray

    def route(self, receiver: str, giver: str) -> tuple[int, tuple[str, ...]]:
        """``(cost, path)`` from ``receiver`` to ``giver`` (``path`` from the receiver), as
        :func:`geo.paths.hop_limited_paths` from ``receiver`` has it for ``giver``.

        Raises
        ------
        KeyError
            ``giver`` is not within reach of ``receiver``.
        """
        return self.routes([(receiver, giver)])[0]

    def routes(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[int, tuple[str, ...]]]:
        """:meth:`route` of many ``(receiver, giver)`` pairs at once, in their order.

        Raises
        ------
        KeyError
            A giver not within reach of its receiver.
        """
        if not pairs:
            return []
        n, row, position = len(self.codes), self.row, self.position
        want = np.asarray([row[r] * n + position[g] for r, g in pairs], np.int64)
        j = np.searchsorted(self.key, want)
        found = j < len(self.key)
        found[found] = self.key[j[found]] == want[found]
        if not found.all():
            raise KeyError(pairs[int(np.argmin(found))])
        codes = self.codes
        return [
            (c, tuple(codes[i] for i in path if i >= 0))
            for c, path in zip(self.cost[j].tolist(), self.steps[j].tolist(), strict=True)
        ]

    def reach(self, receiver: str) -> list[tuple[str, int]]:
        """``[(commune, cost), ...]`` within reach of ``receiver``, in code order (empty for a
        commune that is not a receiver)."""
        k = self.row.get(receiver)
        if k is None:
            return []
        lo, hi = int(self.ptr[k]), int(self.ptr[k + 1])
        codes = self.codes
        return [
            (codes[i], c)
            for i, c in zip(self.index[lo:hi].tolist(), self.cost[lo:hi].tolist(), strict=True)
        ]

    def paths_of(self, receiver: str) -> dict[str, tuple[int, tuple[str, ...]]]:
        """``receiver``'s reach as :func:`geo.paths.hop_limited_paths` returns it."""
        k = self.row[receiver]
        lo, hi = int(self.ptr[k]), int(self.ptr[k + 1])
        codes = self.codes
        return {
            codes[i]: (c, tuple(codes[s] for s in path if s >= 0))
            for i, c, path in zip(
                self.index[lo:hi].tolist(),
                self.cost[lo:hi].tolist(),
                self.steps[lo:hi].tolist(),
                strict=True,
            )
        }


def _csr(
    H: nx.Graph, codes: list[str], position: Mapping[str, int], weight: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``H``'s links as CSR arrays over node positions (code order): the neighbours of node
    ``i`` are ``nbr[ptr[i]:ptr[i+1]]``, at weights ``w[...]``.

    Raises
    ------
    ValueError
        A weight that is not an integer >= 0.
    """
    adj = dict(H.adjacency())
    rows = [adj[u] for u in codes]
    ptr = np.zeros(len(codes) + 1, np.int64)
    np.cumsum([len(r) for r in rows], out=ptr[1:])
    nbr = [position[v] for r in rows for v in r]
    w = [e[weight] for r in rows for e in r.values()]
    loops = [i for i, u in enumerate(codes) if u in adj[u]]  # never on a simple path
    weights = np.asarray(w, np.float64)
    if len(w) and not (np.all(np.isfinite(weights)) and np.all(weights == np.round(weights))):
        raise ValueError(f"reach_table: link weights {weight!r} must be integers")
    if len(w) and weights.min() < 0:
        raise ValueError(f"reach_table: link weights {weight!r} must be >= 0")
    out = ptr, np.asarray(nbr, np.int64), np.asarray(w, np.int64)
    if loops:
        node = np.repeat(np.arange(len(codes), dtype=np.int64), np.diff(ptr))
        keep = out[1] != node
        counts = np.bincount(node[keep], minlength=len(codes))
        ptr = np.zeros(len(codes) + 1, np.int64)
        np.cumsum(counts, out=ptr[1:])
        out = ptr, out[1][keep], out[2][keep]
    return out


def _expand(ptr: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``nodes``, its CSR slots: ``(row of the node, slot)`` per neighbour."""
    lo = ptr[nodes]
    counts = ptr[nodes + 1] - lo
    total = int(counts.sum())
    rows = np.repeat(np.arange(len(nodes), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    slots = np.arange(total, dtype=np.int64) - np.repeat(first - lo, counts)
    return rows, slots


def _first_less(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row by row, whether ``a`` comes before ``b`` as tuples (rows of equal width, ``-1``
    padding; the rows differ somewhere)."""
    differ = a != b
    col = np.argmax(differ, axis=1)
    r = np.arange(len(a))
    less: np.ndarray = (a[r, col] < b[r, col]) & differ[r, col]
    return less


def _block(
    sources: np.ndarray,
    n: int,
    ptr: np.ndarray,
    nbr: np.ndarray,
    w: np.ndarray,
    max_hops: int,
    best_cost: np.ndarray,
    best_ref: np.ndarray,
    scratch: np.ndarray,
    mark: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reach of one block of sources: ``(cell, cost, path rows)`` sorted by cell
    (``cell = local source × n + node``), the sources themselves left out. ``best_cost``,
    ``best_ref``, ``scratch`` and ``mark`` are dense scratch arrays of at least
    ``len(sources) × n`` cells, all ``_NONE`` / ``-1`` / False, and are left so."""
    S = len(sources)
    width = max_hops + 1
    local = np.arange(S, dtype=np.int64)
    # the frontier: its paths (padded to the full width), cells, costs and keys; keys are in
    # path order (a path's key is its parent's key × n + its last node)
    f_path = np.full((S, width), -1, np.int32)
    f_path[:, 0] = sources
    f_cell = local * n + sources
    f_cost = np.zeros(S, np.int64)
    f_key = local.copy()
    store = [f_path]  # every round's updated paths; best_ref points into their concatenation
    offset = S
    best_cost[f_cell] = 0
    best_ref[f_cell] = np.arange(S)
    touched = [f_cell]
    for hop in range(1, width):
        rows, slots = _expand(ptr, f_path[:, hop - 1])
        if not len(rows):
            break
        v = nbr[slots]
        keep = np.ones(len(rows), bool)
        for col in range(hop - 1):  # v is u's neighbour, never u itself: no self-loops
            keep &= f_path[:, col][rows] != v
        rows, v = rows[keep], v[keep]
        cost = f_cost[rows] + w[slots[keep]]
        cell = (f_cell[rows] // n) * n + v
        # least (cost, key of u) per cell: the least (cost, path) of this round
        np.minimum.at(scratch, cell, cost)
        tied = np.flatnonzero(cost == scratch[cell])
        mark[cell] = True
        cells = np.flatnonzero(mark)  # the cells reached this round, in order
        mark[cells] = False
        least = scratch[cells]
        scratch[cell] = _NONE
        key = f_key[rows[tied]]
        np.minimum.at(scratch, cell[tied], key)
        won = tied[key == scratch[cell[tied]]]  # one per cell: keys differ between rows
        scratch[cell[won]] = rows[won]
        parent = scratch[cells]
        scratch[cells] = _NONE
        # against what each cell already holds (a shorter path of an earlier round)
        held = best_cost[cells]
        better = least < held
        tie = np.flatnonzero(least == held)
        if len(tie):
            paths = np.concatenate(store)
            mine = f_path[parent[tie]]
            mine[:, hop] = cells[tie] % n
            better[tie] = _first_less(mine, paths[best_ref[cells[tie]]])
        up = np.flatnonzero(better)
        if not len(up):
            break
        up_parent = parent[up]
        f_cell = cells[up]
        f_cost = least[up]
        last = f_cell % n
        f_key = f_key[up_parent] * n + last
        if hop < max_hops and int(f_key.max()) >= KEY_LIMIT // max(n, 1):
            f_key = np.argsort(np.argsort(f_key, kind="stable"), kind="stable")  # re-rank
        f_path = f_path[up_parent]
        f_path[:, hop] = last
        best_cost[f_cell] = f_cost
        best_ref[f_cell] = offset + np.arange(len(up))
        store.append(f_path)
        offset += len(up)
        touched.append(f_cell)
    for t in touched:
        mark[t] = True
    done = np.flatnonzero(mark)
    mark[done] = False
    cost = best_cost[done]
    ref = best_ref[done]
    best_cost[done] = _NONE
    best_ref[done] = -1
    mine = done != local[done // n] * n + sources[done // n]  # not the source itself
    paths = np.concatenate(store)
    return done[mine], cost[mine], paths[ref[mine]]


def reach_table(
    H: nx.Graph,
    sources: Iterable[str],
    max_hops: int,
    *,
    weight: str = "cost_milli",
) -> ReachTable:
    """The cheapest paths of at most ``max_hops`` links from each of ``sources`` to every node
    they reach, as :func:`geo.paths.hop_limited_paths` finds them (same costs, same paths),
    in one :class:`ReachTable`.

    Parameters
    ----------
    H
        The graph (undirected); ``weight`` on every link, an integer >= 0.
    sources
        Nodes of ``H`` (repeats are ignored).
    max_hops
        Links a path may have, >= 1.
    weight
        The link attribute to add up (default ``cost_milli``, :func:`geo.rules.apply_rules`).

    Returns
    -------
    ReachTable
        ``codes`` all of ``H``'s nodes, sorted; ``receivers`` the sources, sorted.

    Raises
    ------
    ValueError
        A weight that is not an integer, or ``max_hops`` < 1.
    KeyError
        A source that is not in ``H``.
    """
    if max_hops < 1:
        raise ValueError(f"reach_table: max_hops must be >= 1, got {max_hops}")
    codes = sorted(H)
    position = {c: i for i, c in enumerate(codes)}
    receivers = sorted(set(sources))
    src = np.asarray([position[c] for c in receivers], np.int64)
    n = len(codes)
    ptr, nbr, w = _csr(H, codes, position, weight)
    per = max(1, min(len(src), BLOCK_CELLS // max(n, 1)))
    size = per * n
    best_cost = np.full(size, _NONE, np.int64)
    best_ref = np.full(size, -1, np.int64)
    scratch = np.full(size, _NONE, np.int64)
    mark = np.zeros(size, bool)
    counts = np.zeros(len(src), np.int64)
    index: list[np.ndarray] = []
    cost: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    for b in range(0, len(src), per):
        block = src[b : b + per]
        cell, c, path = _block(block, n, ptr, nbr, w, max_hops, best_cost, best_ref, scratch, mark)
        counts[b : b + len(block)] = np.bincount(cell // n, minlength=len(block))
        index.append(cell % n)
        cost.append(c)
        steps.append(path)
    out_ptr = np.zeros(len(src) + 1, np.int64)
    np.cumsum(counts, out=out_ptr[1:])
    width = max_hops + 1
    row_at = np.full(n, -1, np.int64)
    row_at[src] = np.arange(len(src))
    index_a = np.concatenate(index) if index else np.zeros(0, np.int64)
    entry_row = np.repeat(np.arange(len(src), dtype=np.int64), counts)
    return ReachTable(
        codes=codes,
        position=position,
        receivers=receivers,
        row={c: k for k, c in enumerate(receivers)},
        ptr=out_ptr,
        index=index_a,
        cost=np.concatenate(cost) if cost else np.zeros(0, np.int64),
        steps=np.concatenate(steps) if steps else np.zeros((0, width), np.int32),
        row_at=row_at,
        key=entry_row * n + index_a,
    )
