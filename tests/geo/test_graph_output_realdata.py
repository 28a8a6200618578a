"""``lienxa graph``'s output stays byte for byte what it was before the speed work of issue 15:
the edge CSV (pairs, kinds, border lengths, gaps, distances) and every summary and warning line.

The digests were taken from main at 6e35570 (before the changes) with
``lienxa graph --boundaries FILE --out e.csv``; a change that moves any figure fails here.
"""

from __future__ import annotations

import hashlib

from api.cli import main
from geo.adjacency import edges_frame

NGHE_AN_CSV = "a2952406a456846e42a7e46f49f2d2e58cc35722737dc4c4c865ff834cf965a4"
NGHE_AN_LINES = "321d8cb7b6a7d75fd8300bcffa538e76d3f29861c55f4cb20a17fe0defd1900c"
VIETNAM_CSV = "7140b15efb5d0ad765193c095ebeedbb4ff5948084acadbb9aeabf67507276bd"
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


def test_nghe_an_graph_command_output_unchanged(nghe_an_path, tmp_path, capsys):
    out = tmp_path / "edges.csv"
    assert main(["graph", "--boundaries", str(nghe_an_path), "--out", str(out), "--quiet"]) == 0
    assert _sha(out.read_bytes()) == NGHE_AN_CSV
    assert _summary_digest(capsys.readouterr().out) == NGHE_AN_LINES


def test_nationwide_edge_csv_unchanged(vietnam_graph, tmp_path):
    path = tmp_path / "edges.csv"
    edges_frame(vietnam_graph).to_csv(path, index=False)
    assert _sha(path.read_bytes()) == VIETNAM_CSV


def test_nationwide_report_lines_unchanged(vietnam_gdf, vietnam_graph):
    # the repairs and warnings the command prints (population, far units, then the overlaps
    # that building the graph adds) are the report's lines
    lines = vietnam_gdf.attrs["report"].lines()
    assert _sha("".join(line + "\n" for line in lines).encode()) == VIETNAM_REPORT
