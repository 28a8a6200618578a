"""The baseline of ``bench_graph_commands.py``: what a user would write with libpysal for the
same job as ``lienxa graph``: read the boundaries, build queen contiguity, write the edge list.

Run: ``.venv/bin/python bench/libpysal_graph.py FILE OUT.csv``
"""

from __future__ import annotations

import sys

import geopandas as gpd
from libpysal.graph import Graph


def main(path: str, out: str) -> int:
    gdf = gpd.read_file(path).set_index("ma_xa")
    g = Graph.build_contiguity(gdf, rook=False)
    adj = g.adjacency.reset_index()
    adj = adj[adj["focal"] < adj["neighbor"]]
    adj.to_csv(out, index=False)
    print(f"units: {len(gdf)}, pairs: {len(adj)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
