"""``lienxa graph`` and ``lienxa communes`` end to end."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

from api.cli import main


@pytest.fixture(autouse=True)
def _own_geodata_cache(tmp_path, monkeypatch):
    """``lienxa graph`` keeps its graph in the geodata cache: one per test, never the repo's."""
    monkeypatch.setenv("LIENXA_CACHE_DIR", str(tmp_path / "geocache"))


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
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "communes",
            "--boundaries",
            str(nghe_an_path),
            "-s",
            "cua lo",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "16732" in r.stdout and "Phường Cửa Lò" in r.stdout


def test_graph_without_the_cache_needs_no_networkx(nghe_an_path, tmp_path):
    # what the command prints and writes comes from the arrays the graph is made of: a run that
    # builds (--no-cache) neither imports NetworkX nor the service (FastAPI, SQLAlchemy ...)
    code = (
        "import sys; from api.cli import main; "
        f"status = main(['graph', '--boundaries', {str(nghe_an_path)!r}, '--no-cache', '-q', "
        f"'--out', {str(tmp_path / 'e.csv')!r}]); "
        "heavy = [m for m in ('networkx', 'fastapi', 'sqlalchemy', 'alembic', 'folium') "
        "if m in sys.modules]; "
        "print('HEAVY', heavy); sys.exit(status)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "shared_edge 342, point_touch 2, near_gap 0" in r.stdout
    assert "HEAVY []" in r.stdout
    with_graph = tmp_path / "g.csv"
    assert main(["graph", "--boundaries", str(nghe_an_path), "-q", "--out", str(with_graph)]) == 0
    assert with_graph.read_bytes() == (tmp_path / "e.csv").read_bytes()


# --- lienxa plan and sample-inventory, broken pipes, --strict and --column ------------------------


def test_sample_inventory_then_plan_end_to_end(nghe_an_path, scenario_path, tmp_path, capsys):
    inv = tmp_path / "inv.csv"
    assert main(["sample-inventory", "--boundaries", str(nghe_an_path), "--out", str(inv)]) == 0
    assert inv.read_text(encoding="utf-8").startswith("# SAMPLE DATA")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        '- {id: QC-15, type: agreement, a: "17248", b: "17254", document: 15/QC-UBND}\n',
        encoding="utf-8",
    )
    out = tmp_path / "plan.json"
    capsys.readouterr()
    assert (
        main(
            [
                "plan",
                "--boundaries",
                str(nghe_an_path),
                "--inventory",
                str(inv),
                "--scenario",
                str(scenario_path),
                "--rules",
                str(rules),
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert printed.startswith("!! SAMPLE DATA")  # a labelled sample file stays labelled
    assert "Xã Con Cuông (17254) — chỉ huy / command:" in printed
    assert "bao bao" not in printed and "người chỗ ở" not in printed
    assert " bao cát từ " in printed and "nhận chỗ ở tạm cho " in printed
    assert f"plan written to {out}" in printed
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert plan["sample_inventory"] is True
    assert {row["commune"] for row in plan["ledger"]} >= {"17254", "16876"}
    big = [t for t in plan["transfers"] if t["quantity"] >= 1000]
    assert big, "the Nghệ An plan moves some quantity of 1,000 or more"
    t = big[0]
    assert f"nhận {t['quantity']:,}".replace(",", ".") in printed  # Vietnamese thousands separator


def test_plan_unmet_lines_read_naturally(nghe_an_path, tmp_path, capsys):
    sc = tmp_path / "sc.json"
    sc.write_text(
        json.dumps(
            {
                "name": "t",
                "risk_level": 1,
                "affected": [
                    {
                        "commune": "17254",
                        "displaced": 0,
                        "needs": {"sandbags": 5000000, "shelter_places": 1200000},
                    }
                ],
            }
        )
    )
    inv = tmp_path / "inv.csv"
    inv.write_text("commune,resource,quantity\n17254,sandbags,10\n")
    assert (
        main(
            [
                "plan",
                "--boundaries",
                str(nghe_an_path),
                "--inventory",
                str(inv),
                "--scenario",
                str(sc),
                "-q",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "THIẾU 4.999.990 bao cát → " in printed
    assert "THIẾU chỗ ở tạm cho 1.200.000 người → " in printed
    assert "SAMPLE" not in printed  # a surveyed inventory is not labelled sample


def test_plan_bad_regions_file_is_a_clear_error(nghe_an_path, scenario_path, tmp_path, capsys):
    regions = tmp_path / "regions.json"
    regions.write_text(json.dumps({"Khu vực 3": ["16777", "99999"]}))
    assert (
        main(
            [
                "plan",
                "--boundaries",
                str(nghe_an_path),
                "--scenario",
                str(scenario_path),
                "--regions",
                str(regions),
                "-q",
            ]
        )
        == 2
    )
    assert "region 'Khu vực 3' names unknown commune(s) '99999'" in capsys.readouterr().err


def test_plan_with_a_catalogue_file(nghe_an_path, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LIENXA_CATALOGUE", raising=False)
    cat = tmp_path / "cat.yaml"
    cat.write_text(
        "- {key: drones, pillar: means, label_vi: flycam, label_en: drones, unit: chiếc}\n",
        encoding="utf-8",
    )
    sc = tmp_path / "sc.json"
    sc.write_text(
        json.dumps(
            {
                "name": "t",
                "risk_level": 1,
                "affected": [{"commune": "17254", "displaced": 0, "needs": {"drones": 3}}],
            }
        )
    )
    inv = tmp_path / "inv.csv"
    inv.write_text("commune,resource,quantity\n17248,drones,10\n")
    args = [
        "plan",
        "--boundaries",
        str(nghe_an_path),
        "--inventory",
        str(inv),
        "--scenario",
        str(sc),
        "-q",
    ]
    assert main(args) == 2  # drones are not in the built-in catalogue
    assert "unknown resource 'drones'" in capsys.readouterr().err
    assert main([*args, "--catalogue", str(cat)]) == 0
    assert "nhận 3 chiếc flycam từ Xã Châu Khê (17248)" in capsys.readouterr().out
    assert "LIENXA_CATALOGUE" not in os.environ  # restored after the command


def _closed_stdout_run(args, tmp_path):
    """Run ``lienxa ARGS`` with its standard output closed before it writes (like ``| head``
    having exited)."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            stdout=w,
            stderr=subprocess.PIPE,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        os.close(w)
    return proc


def test_closed_output_ends_quietly_and_keeps_the_files(nghe_an_path, scenario_path, tmp_path):
    out = tmp_path / "plan.json"
    proc = _closed_stdout_run(
        [
            "plan",
            "--boundaries",
            str(nghe_an_path),
            "--scenario",
            str(scenario_path),
            "--out",
            str(out),
            "-q",
        ],
        tmp_path,
    )
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 141
    assert json.loads(out.read_text(encoding="utf-8"))["transfers"]
    edges = tmp_path / "edges.csv"
    for args in (
        ["communes", "--boundaries", str(nghe_an_path), "--limit", "200"],
        ["graph", "--boundaries", str(nghe_an_path), "-q", "--out", str(edges)],
    ):
        proc = _closed_stdout_run(args, tmp_path)
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, (
            args,
            proc.stderr,
        )
        assert proc.returncode == 141, args
    assert len(edges.read_text().splitlines()) == 345


def _odd_file(tmp_path):
    rows = {"MA": ["17248", "17254"], "TEN": ["Châu Khê", "Con Cuông"]}
    bowtie = Polygon([(104.0, 19.0), (104.01, 19.01), (104.01, 19.0), (104.0, 19.01)])
    f = tmp_path / "odd.geojson"
    gpd.GeoDataFrame(
        rows, geometry=[bowtie, box(104.01, 19.0, 104.02, 19.01)], crs="EPSG:4326"
    ).to_file(f)
    return f


def test_column_option_maps_source_columns(tmp_path, capsys):
    f = _odd_file(tmp_path)
    assert main(["communes", "--boundaries", str(f), "-s", "chau khe"]) == 2
    assert "no commune code column" in capsys.readouterr().err
    assert (
        main(
            [
                "communes",
                "--boundaries",
                str(f),
                "--column",
                "code=MA",
                "--column",
                "name=TEN",
                "-s",
                "chau khe",
            ]
        )
        == 0
    )
    assert "17248  Xã Châu Khê" in capsys.readouterr().out
    assert main(["communes", "--boundaries", str(f), "--column", "code"]) == 2
    assert "--column takes FIELD=SOURCE" in capsys.readouterr().err


def test_invalid_geometry_repaired_and_reported_or_refused_with_strict(tmp_path, capsys):
    f = _odd_file(tmp_path)
    cols = ["--column", "code=MA", "--column", "name=TEN"]
    assert main(["graph", "--boundaries", str(f), *cols, "-q"]) == 0
    out = capsys.readouterr().out
    assert "repaired: made valid: 17248: Self-intersection" in out
    assert "edges:                 1 (shared_edge 1" in out
    assert main(["graph", "--boundaries", str(f), *cols, "--strict", "-q"]) == 2
    assert "invalid geometries (17248: Self-intersection" in capsys.readouterr().err


def test_boundaries_from_the_environment(nghe_an_path, capsys, monkeypatch):
    monkeypatch.setenv("LIENXA_BOUNDARIES", str(nghe_an_path))
    assert main(["communes", "-s", "cua lo"]) == 0
    assert "16732" in capsys.readouterr().out


# --- lienxa plan: per-resource reserves and --at -----------------------------------------------


def _small_plan_inputs(tmp_path, needs):
    sc = tmp_path / "sc.json"
    sc.write_text(
        json.dumps(
            {
                "name": "t",
                "risk_level": 1,
                "affected": [{"commune": "17254", "displaced": 0, "needs": needs}],
            }
        )
    )
    inv = tmp_path / "inv.csv"
    inv.write_text("commune,resource,quantity\n17248,boats,10\n17248,militia,100\n")
    return sc, inv


def test_plan_reserve_per_resource(nghe_an_path, tmp_path, capsys):
    sc, inv = _small_plan_inputs(tmp_path, {"boats": 3, "militia": 10})
    out = tmp_path / "plan.json"
    args = [
        "plan",
        "--boundaries",
        str(nghe_an_path),
        "--inventory",
        str(inv),
        "--scenario",
        str(sc),
        "--out",
        str(out),
        "-q",
    ]
    assert (
        main([*args, "--reserve-share", "0.3", "--reserve", "boats=1", "--reserve", "militia=0.5"])
        == 0
    )
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert plan["parameters"]["reserve_share"] == {"default": 0.3, "militia": 0.5, "boats": 1.0}
    assert {t["resource"] for t in plan["transfers"]} == {"militia"}  # 17248 keeps all its boats
    assert [(u["resource"], u["quantity"]) for u in plan["unmet"]] == [("boats", 3)]
    capsys.readouterr()
    assert main(args) == 0  # without --reserve: one share, as before
    assert json.loads(out.read_text(encoding="utf-8"))["parameters"]["reserve_share"] == 0.3


def test_plan_bad_reserve_names_the_item(tmp_path, capsys):
    # checked before the boundaries are read: no file is needed to see the error
    base = [
        "plan",
        "--boundaries",
        str(tmp_path / "none.gpkg"),
        "--scenario",
        str(tmp_path / "sc.json"),
    ]
    for extra, message in (
        (["--reserve", "boat=0.5"], "--reserve boat=0.5: unknown resource 'boat'"),
        (
            ["--reserve", "boats=1.5"],
            "--reserve boats=1.5: the share must be a number between 0 and 1",
        ),
        (
            ["--reserve", "boats=lots"],
            "--reserve boats=lots: the share must be a number between 0 and 1",
        ),
        (["--reserve", "boats"], "--reserve takes RESOURCE=SHARE (e.g. boats=0.5), got 'boats'"),
        (
            ["--reserve", "boats=0.5", "--reserve", "boats=0.2"],
            "--reserve boats=0.2: boats is given twice",
        ),
        (["--reserve-share", "1.2"], "--reserve-share 1.2: the share must be between 0 and 1"),
    ):
        assert main([*base, *extra]) == 2, extra
        assert message in capsys.readouterr().err, extra


def test_plan_at_judges_rules_on_that_day(nghe_an_path, tmp_path, capsys):
    sc, inv = _small_plan_inputs(tmp_path, {"boats": 3})
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        '- {id: QC-2025, type: agreement, a: "17248", b: "17254", cap: true,\n'
        '   commitments: {"17248": {boats: 1}}, valid_from: 2025-01-01, valid_to: 2025-12-31}\n',
        encoding="utf-8",
    )
    out = tmp_path / "plan.json"
    args = [
        "plan",
        "--boundaries",
        str(nghe_an_path),
        "--inventory",
        str(inv),
        "--scenario",
        str(sc),
        "--rules",
        str(rules),
        "--out",
        str(out),
        "-q",
    ]
    assert main(args) == 0  # today the 2025 agreement has lapsed: no cap
    today = json.loads(out.read_text(encoding="utf-8"))
    assert today["parameters"]["at"] == dt.date.today().isoformat()
    assert [(t["from"], t["quantity"], t["agreement"]) for t in today["transfers"]] == [
        ("17248", 3, False)
    ]
    assert main([*args, "--at", "2025-08-01"]) == 0  # in 2025 it caps aid at its commitment
    past = json.loads(out.read_text(encoding="utf-8"))
    assert past["parameters"]["at"] == "2025-08-01"
    assert [(t["from"], t["quantity"], t["agreement_rules"]) for t in past["transfers"]] == [
        ("17248", 1, ["QC-2025"])
    ]
    assert past["cost"]["unmet_units"] == 2
    assert "rules as of 2025-08-01" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([*args, "--at", "2025-13-01"])
    assert "--at: takes a date YYYY-MM-DD, got '2025-13-01'" in capsys.readouterr().err
