"""Official population tables (issue 12): ``lienxa plan --population CSV`` replaces the
boundaries' figures, so a displaced count above the official figure is refused, naming the
commune, and one above the file's suspect figure only warns."""

from __future__ import annotations

import json

import pytest

from geo.boundaries import load_boundaries
from geo.population import PopulationError, apply_population, load_population_table
from tests.fast.conftest import ASKS, GIVES, write_boundaries


@pytest.fixture
def files(tmp_path):
    boundaries = write_boundaries(tmp_path / "communes.geojson")
    table = tmp_path / "population.csv"
    table.write_text(
        f"code,population,source,date\n{ASKS},1200,Niên giám thống kê tỉnh 2024,2024-12-31\n",
        encoding="utf-8",
    )
    scenario = tmp_path / "flood.json"
    scenario.write_text(
        json.dumps(
            {
                "name": "t",
                "risk_level": 2,
                "affected": [{"commune": ASKS, "displaced": 5000, "needs": {"boats": 2}}],
            }
        ),
        encoding="utf-8",
    )
    return boundaries, table, scenario


def test_the_official_table_replaces_the_figures_and_clears_the_flag(files):
    boundaries, table, _ = files
    gdf = load_boundaries(boundaries)
    gdf.loc[GIVES, "population_suspect"] = True
    out = apply_population(gdf, load_population_table(table))
    assert out.at[ASKS, "population"] == 1200.0 and not out.at[ASKS, "population_suspect"]
    assert out.at[ASKS, "population_source"] == "Niên giám thống kê tỉnh 2024"
    assert bool(out.at[GIVES, "population_suspect"])  # not in the table: as it was
    assert gdf.at[ASKS, "population"] == 8000.0  # the input is not changed


def test_bad_population_tables_name_the_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,population,source,date\n123,10,x,2024-01-01\n90001,many,x,2024-01-01\n"
        "90002,10,,2024-01-01\n90003,10,x,yesterday\n",
        encoding="utf-8",
    )
    with pytest.raises(PopulationError) as exc:
        load_population_table(bad)
    assert [(p.code, p.line) for p in exc.value.problems] == [
        ("commune_code_invalid", 2),
        ("not_an_integer", 3),
        ("population_source_missing", 4),
        ("population_date_invalid", 5),
    ]
    header = tmp_path / "header.csv"
    header.write_text("ma,dan_so\n", encoding="utf-8")
    with pytest.raises(PopulationError) as exc:
        load_population_table(header)
    assert exc.value.code == "population_header_invalid"


def test_lienxa_plan_with_the_official_population(files, tmp_path, capsys):
    from api.cli import main

    boundaries, table, scenario = files
    args = ["plan", "--boundaries", str(boundaries), "--scenario", str(scenario), "--quiet"]
    out = tmp_path / "plan.json"
    # the file says 8,000 people: 5,000 displaced is accepted
    assert main([*args, "--out", str(out)]) == 0
    assert "warnings" not in json.loads(out.read_text(encoding="utf-8"))["parameters"]
    # the official 1,200: refused, naming the commune
    code = main([*args, "--population", str(table)])
    err = capsys.readouterr().err
    assert code != 0 and ASKS in err and "population" in err


def test_the_service_reads_the_official_population_named_by_its_settings(files, tmp_path):
    from api.main import load_geodata
    from tests.fast.conftest import settings_for

    boundaries, table, _ = files
    settings = settings_for(tmp_path, boundaries).model_copy(update={"population": table})
    gdf = load_geodata(settings).gdf
    assert gdf.at[ASKS, "population"] == 1200.0 and not gdf.at[ASKS, "population_suspect"]
    assert load_geodata(settings_for(tmp_path, boundaries)).gdf.at[ASKS, "population"] == 8000.0
