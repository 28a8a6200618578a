"""``lienxa graph`` and ``lienxa communes``: the geo core from the command line."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from geo.errors import BoundaryError

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

    from api.geocache import DiskCache
    from geo.adjacency import Adjacency
    from geo.wkb import RingArrays

#: Exit status of a command whose standard output was closed early (as a shell reports a
#: process ended by SIGPIPE).
BROKEN_PIPE_STATUS = 141


def quiet_broken_pipe(
    run: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Wrap a command so that a reader closing its output (``lienxa plan ... | head``) ends it
    quietly, with status :data:`BROKEN_PIPE_STATUS` and no traceback."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            status = run(args)
            sys.stdout.flush()  # a late failure shows here, not in Python's flush at exit
            return status
        except BrokenPipeError:
            # Python flushes stdout once more at exit: send that to /dev/null so it is silent
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):  # stdout is not a real file (captured in tests)
                pass
            return BROKEN_PIPE_STATUS

    return wrapper


def add_boundaries_options(p: argparse.ArgumentParser) -> None:
    """The options every command that reads boundaries shares."""
    p.add_argument(
        "--boundaries",
        metavar="FILE",
        help="boundaries file (default: $LIENXA_BOUNDARIES, then data/boundaries/)",
    )
    p.add_argument("--layer", help="layer of a multi-layer file (GeoPackage)")
    p.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FIELD=SOURCE",
        help="map a source column onto a field, e.g. --column code=MA_XA (repeatable)",
    )
    p.add_argument(
        "--strict", action="store_true", help="refuse invalid geometries instead of repairing them"
    )


def column_map(pairs: list[str]) -> dict[str, str]:
    """Parse ``FIELD=SOURCE`` options."""
    out = {}
    for pair in pairs:
        field, sep, source = pair.partition("=")
        if not sep or not field or not source:
            raise BoundaryError(f"--column takes FIELD=SOURCE, got {pair!r}")
        out[field.strip()] = source.strip()
    return out


class Progress:
    """Stage-by-stage progress on standard error, with elapsed times."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr, flush=True)


def load_from_args(args: argparse.Namespace, progress: Progress | None = None) -> gpd.GeoDataFrame:
    """Load the boundaries named by the shared options, reporting progress."""
    return load_with_rings(args, progress)[0]


def load_with_rings(
    args: argparse.Namespace, progress: Progress | None = None
) -> tuple[gpd.GeoDataFrame, RingArrays | None]:
    """:func:`load_from_args`, and the arrays the geometries were read from (see
    :func:`geo.boundaries.load_boundaries_and_rings`)."""
    from geo.boundaries import find_boundaries_file, load_boundaries_and_rings

    progress = progress or Progress(quiet=True)
    path = find_boundaries_file(args.boundaries)
    progress(f"reading and validating {path}")
    gdf, rings = load_boundaries_and_rings(
        path, layer=args.layer, columns=column_map(args.column), strict=args.strict
    )
    progress(f"{len(gdf)} units loaded")
    return gdf, rings


def _graph_store(args: argparse.Namespace) -> DiskCache | None:
    """The machine's geodata cache for the boundaries named by ``args`` (the service's, see
    :mod:`api.geocache`), or None when it is switched off (``--no-cache``,
    ``LIENXA_GEODATA_CACHE=0``) or cannot be made."""
    if args.no_cache:
        return None
    from api.geocache import DiskCache, cache_key
    from api.settings import Settings
    from geo.boundaries import find_boundaries_file

    settings = Settings()
    if not settings.geodata_cache:
        return None
    try:
        path = find_boundaries_file(args.boundaries)
        return DiskCache(
            settings.cache_dir or settings.data_dir / "cache", cache_key(path, args.layer)
        )
    except OSError:
        return None


def _graph_entry(args: argparse.Namespace) -> str:
    """The cache entry of the graph built with these options (tolerance, overlaps, columns)."""
    import hashlib

    options = repr(
        (args.tolerance, args.check_overlaps, args.strict, sorted(column_map(args.column).items()))
    )
    return "cli-graph-" + hashlib.sha256(options.encode()).hexdigest()[:16]


def graph_and_report(
    args: argparse.Namespace, progress: Progress
) -> tuple[nx.Graph | Adjacency, list[str]]:
    """The graph of the boundaries named by ``args`` and the lines of their load report: read
    from the geodata cache when this file (by content) was built with the same options and code
    before, else loaded, validated, built and stored. Without the cache (``--no-cache``) it is
    the :class:`~geo.adjacency.Adjacency` the graph would be made of (the same summary and
    edges, without building a NetworkX graph nobody reads)."""
    from geo.adjacency import build_adjacency, build_graph

    def load() -> tuple[gpd.GeoDataFrame, RingArrays | None]:
        loaded = load_with_rings(args, progress)
        progress("building the adjacency graph (exact shared edges, then near pairs)")
        return loaded

    store = _graph_store(args)
    if store is None:
        gdf, rings = load()
        adj = build_adjacency(
            gdf, tolerance_m=args.tolerance, check_overlaps=args.check_overlaps, rings=rings
        )
        return adj, gdf.attrs["report"].lines()

    def compute() -> tuple[nx.Graph, list[str]]:
        gdf, rings = load()
        G = build_graph(
            gdf, tolerance_m=args.tolerance, check_overlaps=args.check_overlaps, rings=rings
        )
        return G, gdf.attrs["report"].lines()

    from api.geocache import decode_graph, encode_graph

    G, lines = store.cached(
        _graph_entry(args),
        compute,
        lambda v: {"graph": encode_graph(v[0]), "lines": list(v[1])},
        lambda d: (decode_graph(d["graph"]), [str(line) for line in d["lines"]]),
    )
    if _graph_entry(args) not in store.computed:
        progress(f"graph read from the geodata cache {store.path(_graph_entry(args))}")
    return G, lines


def _full_names(G: nx.Graph | Adjacency, codes: list[str]) -> list[str]:
    from geo.adjacency import Adjacency

    if isinstance(G, Adjacency):
        return [str(n) for n in G.nodes.loc[codes, "full_name"].tolist()]
    return [str(G.nodes[c]["full_name"]) for c in codes]


@quiet_broken_pipe
def run_graph(args: argparse.Namespace) -> int:
    """Build the adjacency graph, print a summary and write the edge CSV."""
    from geo.adjacency import edges_frame, summarise

    progress = Progress(quiet=args.quiet)
    t0 = time.perf_counter()
    G, report_lines = graph_and_report(args, progress)
    s = summarise(G)
    elapsed = time.perf_counter() - t0
    if args.out:  # written before the summary, so a closed output cannot lose it
        edges_frame(G).to_csv(Path(args.out), index=False)
    kinds = s["edges_by_kind"]
    print(f"units:                 {s['units']}")
    print(f"provinces:             {s['provinces']}")
    print(
        f"edges:                 {s['edges']} (shared_edge {kinds['shared_edge']}, "
        f"point_touch {kinds['point_touch']}, near_gap {kinds['near_gap']}; "
        f"tolerance {args.tolerance:g} m)"
    )
    print(f"cross-province links:  {s['cross_province_links']}")
    islands = s["islands"]
    names = ", ".join(
        f"{n} {c}" for c, n in zip(islands[:10], _full_names(G, islands[:10]), strict=True)
    )
    print(
        f"islands (no neighbour): {len(islands)}{': ' + names if islands else ''}"
        f"{' ...' if len(islands) > 10 else ''}"
    )
    for line in report_lines:
        print(line)
    print(f"time: {elapsed:.2f} s (graph {s['seconds']:.2f} s)")
    if args.out:
        print(f"edges written to {args.out}")
    return 0


@quiet_broken_pipe
def run_communes(args: argparse.Namespace) -> int:
    """List communes, or find them by name with or without diacritics."""
    from geo.boundaries import search_communes

    gdf = load_from_args(args)
    if args.province:
        gdf = gdf[gdf["province_code"] == args.province.zfill(2)]
    hits = (
        search_communes(gdf, args.search, limit=args.limit) if args.search else gdf.head(args.limit)
    )
    if hits.empty:
        print(f"no commune matches {args.search!r}", file=sys.stderr)
        return 1
    for code, row in hits.iterrows():
        pop = (
            "?"
            if row["population"] != row["population"]
            else f"{row['population']:,.0f}".replace(",", ".")
        )
        flag = " (dân số nghi ngờ / suspect)" if row["population_suspect"] else ""
        print(f"{code}  {row['full_name']:<28} {row['province_name']:<16} dân số {pop}{flag}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``graph`` and ``communes`` to the CLI."""
    p = sub.add_parser("graph", help="build the adjacency graph of a boundaries file and report it")
    add_boundaries_options(p)
    p.add_argument(
        "--out", metavar="EDGES.csv", help="write the edges as CSV (a,b,shared_border_m,gap_m,kind)"
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=10.0,
        metavar="METRES",
        help="units closer than this are neighbours even if they do not touch (default 10)",
    )
    p.add_argument(
        "--check-overlaps",
        action="store_true",
        help="also measure overlaps between units that share exact edges (slower)",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="build the graph even if the geodata cache holds it for this file and options",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run_graph, one_shot=True)

    p = sub.add_parser("communes", help="list or search communes (with or without diacritics)")
    add_boundaries_options(p)
    p.add_argument("--search", "-s", help='a name, e.g. "chau khe" or "Châu Khê", or a code')
    p.add_argument("--province", help="only this province (2-digit code)")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=run_communes)
