"""``lienxa graph`` and ``lienxa communes`` end to end."""

from __future__ import annotations

import csv
import subprocess
import sys

from api.cli import main


def test_graph_prints_summary_and_writes_contract_csv(nghe_an_path, tmp_path, capsys):
    out = tmp_path / "edges.csv"
    assert main(["graph", "--boundaries", str(nghe_an_path), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "units:                 130" in printed.out
    assert "shared_edge 342, point_touch 2, near_gap 0" in printed.out
    assert "islands (no neighbour): 0" in printed.out
    assert "cross-province links:  0" in printed.out
    assert "time:" in printed.out
    assert "building the adjacency graph" in printed.err  # progress on stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 344
    assert list(rows[0])[:5] == ["a", "b", "shared_border_m", "gap_m", "kind"]
    assert all(r["a"] < r["b"] for r in rows)
    assert {r["kind"] for r in rows} == {"shared_edge", "point_touch"}


def test_communes_search_without_diacritics(nghe_an_path, capsys):
    assert main(["communes", "--boundaries", str(nghe_an_path), "--search", "chau khe"]) == 0
    out = capsys.readouterr().out
    assert "17248  Xã Châu Khê" in out
    assert main(["communes", "--boundaries", str(nghe_an_path), "-s", "Con Cuông"]) == 0
    assert "17254" in capsys.readouterr().out
    assert main(["communes", "--boundaries", str(nghe_an_path), "-s", "khong co dau"]) == 1


def test_missing_boundaries_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LIENXA_BOUNDARIES", raising=False)
    assert main(["graph", "--boundaries", str(tmp_path / "none.gpkg")]) == 2
    assert "none.gpkg' (from --boundaries) does not exist" in capsys.readouterr().err


def test_broken_geojson_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{ not json")
    assert main(["graph", "--boundaries", str(bad)]) == 2
    assert "bad.geojson is not geodata" in capsys.readouterr().err


def test_console_script_runs(nghe_an_path):
    r = subprocess.run([sys.executable, "-m", "api.cli", "communes", "--boundaries", str(nghe_an_path),
                        "-s", "cua lo"], check=False, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "16732" in r.stdout and "Phường Cửa Lò" in r.stdout
