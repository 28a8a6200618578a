"""``lienxa graph``'s output stays byte for byte what it was before the speed work of issue 15:
the edge CSV (pairs, kinds, border lengths, gaps, distances) and every summary and warning line,
whether the graph is built or read back from the geodata cache.

The digests were taken from main at 6e35570 (before the changes) with
``lienxa graph --boundaries FILE --out e.csv``; a change that moves any figure fails here. The
nationwide CSV's was taken again at branch graphcmd (issue 15's "no pair below where the
boundaries coincide"), where 12 border lengths grew and nothing else moved: 00958/01075 and
21892/21925 by their 0.2 m triangle in the other's hole (its orientation now GEOS's), and 10 pairs
that also overlap by the stretches where their boundaries coincide without shared vertices
(19066/19093 +0.52 m, 16177/16186 +5.8 m, the others 0.01-0.8 m; see
``tests/geo/test_borders_realdata.py``).
"""

from __future__ import annotations

import hashlib

from api.cli import main
from geo.adjacency import edges_frame

NGHE_AN_CSV = "a2952406a456846e42a7e46f49f2d2e58cc35722737dc4c4c865ff834cf965a4"
NGHE_AN_LINES = "321d8cb7b6a7d75fd8300bcffa538e76d3f29861c55f4cb20a17fe0defd1900c"
VIETNAM_CSV = "3264decc3d83e47c7c62b3e69b675d3c6abf93b84fc609d1a1a9456b2e845ca2"
VIETNAM_REPORT = "c92c15ef5de6a0e676a180bb6e67956410f931eb01f564c2e25a279e473c1e9c"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _summary_digest(stdout: str) -> str:
    """The digest of the printed lines, less the timings and the output path."""
    kept = [
        line + "\n"
        for line in stdout.splitlines()
        if not line.startswith("time:") and not line.startswith("edges written")
    ]
    return _sha("".join(kept).encode())


def test_nghe_an_graph_command_output_unchanged(nghe_an_path, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LIENXA_CACHE_DIR", str(tmp_path / "geocache"))
    for run, extra in enumerate(([], [], ["--no-cache"])):  # built, read from the cache, built
        out = tmp_path / f"edges-{run}.csv"
        args = ["graph", "--boundaries", str(nghe_an_path), "--out", str(out), *extra]
        assert main(args) == 0
        printed = capsys.readouterr()
        assert _sha(out.read_bytes()) == NGHE_AN_CSV, run
        assert _summary_digest(printed.out) == NGHE_AN_LINES, run
        from_cache = "read from the geodata cache" in printed.err
        assert from_cache == (run == 1), printed.err
        assert ("building the adjacency graph" in printed.err) == (not from_cache)


def test_graph_cache_is_per_options(nghe_an_path, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LIENXA_CACHE_DIR", str(tmp_path / "geocache"))
    assert main(["graph", "--boundaries", str(nghe_an_path), "-q"]) == 0
    assert "near_gap 0; tolerance 10 m" in capsys.readouterr().out
    assert main(["graph", "--boundaries", str(nghe_an_path), "-q", "--tolerance", "5"]) == 0
    assert "tolerance 5 m" in capsys.readouterr().out
    monkeypatch.setenv("LIENXA_GEODATA_CACHE", "0")
    assert main(["graph", "--boundaries", str(nghe_an_path)]) == 0
    assert "read from the geodata cache" not in capsys.readouterr().err
    assert len(list((tmp_path / "geocache").glob("*-cli-graph-*.bin"))) == 2


def test_nationwide_edge_csv_unchanged(vietnam_graph, tmp_path):
    path = tmp_path / "edges.csv"
    edges_frame(vietnam_graph).to_csv(path, index=False)
    assert _sha(path.read_bytes()) == VIETNAM_CSV


def test_nationwide_report_lines_unchanged(vietnam_gdf, vietnam_graph):
    # the repairs and warnings the command prints (population, far units, then the overlaps
    # that building the graph adds) are the report's lines
    lines = vietnam_gdf.attrs["report"].lines()
    assert _sha("".join(line + "\n" for line in lines).encode()) == VIETNAM_REPORT


def test_no_tolerance_is_touching_only(nghe_an_path, capsys):
    # boxes that only touch gave a flat clipping rectangle, and GEOS refused it (a traceback)
    assert (
        main(["graph", "--boundaries", str(nghe_an_path), "-q", "--no-cache", "--tolerance", "0"])
        == 0
    )
    assert "(shared_edge 342, point_touch 0, near_gap 0; tolerance 0 m)" in capsys.readouterr().out
