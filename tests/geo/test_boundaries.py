"""Loading and validating boundaries: every error named, repairs reported, search folded."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from geo.boundaries import (
    find_boundaries_file,
    load_boundaries,
    normalise_boundaries,
    search_communes,
)
from geo.errors import BoundariesNotFoundError, BoundaryError


def frame(rows, crs="EPSG:4326"):
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def unit(code, geom, name="Châu Khê", **extra):
    return {
        "ma_xa": code,
        "ten_xa": name,
        "loai": "Xã",
        "ma_tinh": "40",
        "ten_tinh": "Nghệ An",
        "dan_so": 12000,
        "area_km2": 10.0,
        "geometry": geom,
        **extra,
    }


def two_units():
    return [
        unit("17248", box(104.0, 19.0, 104.01, 19.01)),
        unit("17254", box(104.01, 19.0, 104.02, 19.01), name="Con Cuông"),
    ]


def test_normalised_schema_indexed_by_code():
    gdf = normalise_boundaries(frame(two_units()))
    assert list(gdf.index) == ["17248", "17254"]
    assert gdf.index.name == "code"
    assert gdf.loc["17248", "full_name"] == "Xã Châu Khê"
    assert gdf.loc["17248", "name_ascii"] == "Chau Khe"
    assert gdf.loc["17254", "province_code"] == "40"
    assert gdf.crs.equals("EPSG:4326")


def test_numeric_codes_get_leading_zeros():
    rows = two_units()
    rows[0]["ma_xa"], rows[1]["ma_xa"] = 4, 25
    assert list(normalise_boundaries(frame(rows)).index) == ["00004", "00025"]


def test_no_crs_is_refused():
    with pytest.raises(BoundaryError, match="no CRS"):
        normalise_boundaries(frame(two_units(), crs=None))


def test_missing_code_column_names_what_was_looked_for():
    rows = [{k: v for k, v in r.items() if k != "ma_xa"} for r in two_units()]
    with pytest.raises(BoundaryError, match=r"no commune code column.*ma_xa"):
        normalise_boundaries(frame(rows))


def test_missing_code_value_names_the_feature():
    rows = two_units()
    rows[1]["ma_xa"] = None
    with pytest.raises(BoundaryError, match=r"without a commune code \(feature #2\)"):
        normalise_boundaries(frame(rows))


def test_duplicate_codes_are_named():
    rows = two_units()
    rows[1]["ma_xa"] = "17248"
    with pytest.raises(BoundaryError, match="duplicate commune codes 17248"):
        normalise_boundaries(frame(rows))


def test_malformed_code_is_named():
    rows = two_units()
    rows[1]["ma_xa"] = "ABC12"
    with pytest.raises(BoundaryError, match="5 digits, got ABC12"):
        normalise_boundaries(frame(rows))


def test_empty_geometry_is_refused():
    rows = two_units()
    rows[1]["geometry"] = Polygon()
    with pytest.raises(BoundaryError, match="empty or missing geometry for 17254"):
        normalise_boundaries(frame(rows))


def test_non_polygon_geometry_is_refused():
    rows = two_units()
    rows[0]["geometry"] = Point(104, 19)
    rows[1]["geometry"] = LineString([(104, 19), (105, 19)])
    with pytest.raises(
        BoundaryError, match=r"non-polygon geometries for 17248 \(Point\), 17254 \(LineString\)"
    ):
        normalise_boundaries(frame(rows))


def bowtie():
    return Polygon([(104.0, 19.0), (104.01, 19.01), (104.01, 19.0), (104.0, 19.01)])


def test_invalid_geometry_is_repaired_and_reported():
    rows = two_units()
    rows[0]["geometry"] = bowtie()
    gdf = normalise_boundaries(frame(rows))
    assert gdf.geometry.is_valid.all()
    assert gdf.loc["17248"].geometry.area == pytest.approx(0.01 * 0.01 / 2)
    repaired = gdf.attrs["report"].repaired
    assert [r.codes for r in repaired] == [["17248"]]
    assert "Self-intersection" in repaired[0].message


def test_invalid_geometry_is_refused_when_strict():
    rows = two_units()
    rows[0]["geometry"] = bowtie()
    with pytest.raises(BoundaryError, match=r"invalid geometries.*17248.*without --strict"):
        normalise_boundaries(frame(rows), strict=True)


def test_other_crs_is_reprojected_to_lonlat():
    gdf = frame(two_units()).to_crs(32648)
    out = normalise_boundaries(gdf)
    assert out.crs.equals("EPSG:4326")
    assert out.loc["17248"].geometry.bounds[0] == pytest.approx(104.0, abs=1e-6)


def test_column_mapping_option(tmp_path):
    rows = [{"MA": r["ma_xa"], "TEN": r["ten_xa"], "geometry": r["geometry"]} for r in two_units()]
    gdf = normalise_boundaries(frame(rows), columns={"code": "MA", "name": "TEN"})
    assert gdf.loc["17254", "name"] == "Con Cuông"
    with pytest.raises(BoundaryError, match="column 'NOPE' given for 'code' is not in the file"):
        normalise_boundaries(frame(rows), columns={"code": "NOPE"})


def test_suspicious_population_is_warned():
    rows = two_units()
    rows[0]["dan_so"] = 132
    gdf = normalise_boundaries(frame(rows))
    assert bool(gdf.loc["17248", "population_suspect"]) is True
    assert bool(gdf.loc["17254", "population_suspect"]) is False
    kinds = {w.kind: w.codes for w in gdf.attrs["report"].warnings}
    assert kinds["suspect_population"] == ["17248"]


def test_unit_far_from_its_province_is_warned():
    rows = [*two_units(), unit("17260", box(106.0, 19.0, 106.01, 19.01), name="Xa Lắm")]
    gdf = normalise_boundaries(frame(rows))
    far = [w for w in gdf.attrs["report"].warnings if w.kind == "far_unit"]
    assert far and far[0].codes == ["17260"]
    # 1.98° of longitude at 19° N is 208 km
    assert "(208 km)" in far[0].message


def test_far_check_stops_at_the_first_unit_near_enough(monkeypatch):
    """Three 1 km squares in a row, ``far_km`` 0.5: the bounds of each leave its neighbours
    undecided; the middle one is measured against one of them only (the first is near)."""
    from geo import boundary_report

    measured: list[int] = []
    real = boundary_report._distance_km
    monkeypatch.setattr(
        boundary_report, "_distance_km", lambda a, b: measured.append(1) or real(a, b)
    )
    rows = [
        unit(f"1725{k}", box(105.0 + 0.01 * k, 19.0, 105.01 + 0.01 * k, 19.01), name=f"X{k}")
        for k in range(3)
    ]
    gdf = normalise_boundaries(frame(rows), far_km=0.5)
    assert [w for w in gdf.attrs["report"].warnings if w.kind == "far_unit"] == []
    assert len(measured) == 3  # not 4: the middle square stops after its first neighbour


def test_far_unit_reports_its_nearest_unit_and_skips_those_bound_to_be_farther(monkeypatch):
    """A far unit F and four others, by their bounding boxes nearest first: an L whose box
    comes within 42 km of F but whose arms stay 68 km away or more, then squares 57, 73 and
    83 km away. The distance reported is the true nearest (57 km, not the L's); after the
    first two, the other squares' lower bounds already exceed 57 km, so they are not
    measured."""
    from shapely.ops import unary_union

    from geo import boundary_report

    far_unit = box(106.0, 19.0, 106.01, 19.01)
    measured: list[float] = []
    real = boundary_report._distance_km

    def distance_km(a, b):
        d = real(a, b)
        if far_unit.equals(a) or far_unit.equals(b):
            measured.append(d)
        return d

    monkeypatch.setattr(boundary_report, "_distance_km", distance_km)
    ell = unary_union([box(105.0, 19.49, 105.6, 19.5), box(105.0, 19.0, 105.01, 19.5)])
    rows = [
        unit("17261", ell, name="L"),
        unit("17262", box(105.45, 19.0, 105.46, 19.01), name="B"),
        unit("17263", box(105.3, 19.0, 105.31, 19.01), name="C"),
        unit("17264", box(105.2, 19.0, 105.21, 19.01), name="D"),
        unit("17265", far_unit, name="F"),
    ]
    gdf = normalise_boundaries(frame(rows))
    far = [w for w in gdf.attrs["report"].warnings if w.kind == "far_unit"]
    assert far and far[0].codes == ["17265"]
    nearest = min(real(far_unit, r["geometry"]) for r in rows[:4])
    assert nearest == pytest.approx(real(far_unit, rows[1]["geometry"]))  # B, not the L
    assert f"({nearest:.0f} km)" in far[0].message
    assert len(measured) == 2  # the L, then B; C and D are bound to be farther than B


def test_file_that_is_not_geodata(tmp_path):
    bad = tmp_path / "broken.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [ {"type": ')
    with pytest.raises(BoundaryError, match=r"broken.geojson is not geodata"):
        load_boundaries(bad)


def test_csv_without_geometry_is_refused(tmp_path):
    bad = tmp_path / "table.csv"
    bad.write_text("ma_xa,ten_xa\n17248,Châu Khê\n")
    with pytest.raises(BoundaryError, match=r"table.csv (has no geometry|is not geodata)"):
        load_boundaries(bad)


def test_geojson_gpkg_and_zipped_shapefile_read_alike(tmp_path):
    gdf = frame(two_units())
    gdf.to_file(tmp_path / "b.geojson")
    gdf.to_file(tmp_path / "b.gpkg", layer="communes")
    shp = tmp_path / "shp"
    shp.mkdir()
    gdf.to_file(shp / "b.shp", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as z:
        for f in shp.iterdir():
            z.write(f, f.name)
    for name in ("b.geojson", "b.gpkg", "b.zip", "shp/b.shp"):
        out = load_boundaries(tmp_path / name)
        assert list(out.index) == ["17248", "17254"], name
        assert out.loc["17248", "name"] == "Châu Khê", name


def test_where_the_file_is_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIENXA_BOUNDARIES", raising=False)
    import geo.boundaries as gb

    monkeypatch.setattr(gb, "__file__", str(tmp_path / "pkg" / "geo" / "boundaries.py"))
    with pytest.raises(
        BoundariesNotFoundError, match="pass --boundaries FILE, set LIENXA_BOUNDARIES"
    ):
        find_boundaries_file()
    (tmp_path / "data" / "boundaries").mkdir(parents=True)
    f = tmp_path / "data" / "boundaries" / "x.geojson"
    frame(two_units()).to_file(f)
    assert find_boundaries_file() == f.resolve()
    other = tmp_path / "data" / "boundaries" / "y.gpkg"
    other.write_bytes(b"")
    with pytest.raises(
        BoundariesNotFoundError, match=r"several boundaries files .*\(x.geojson, y.gpkg\)"
    ):
        find_boundaries_file()
    other.unlink()
    (tmp_path / "data" / "boundaries" / "README.md").write_text("# not data")
    assert find_boundaries_file() == f.resolve()
    env = tmp_path / "env.geojson"
    frame(two_units()).to_file(env)
    monkeypatch.setenv("LIENXA_BOUNDARIES", str(env))
    assert find_boundaries_file() == env
    assert find_boundaries_file(f) == f
    with pytest.raises(BoundariesNotFoundError, match=r"nope.gpkg.*does not exist"):
        find_boundaries_file(tmp_path / "nope.gpkg")


def test_search_with_and_without_diacritics():
    gdf = normalise_boundaries(frame(two_units()))
    for q in ("chau khe", "Châu Khê", "CHAU", "khê", "17248"):
        assert list(search_communes(gdf, q).index) == ["17248"], q
    assert list(search_communes(gdf, "con cuong").index) == ["17254"]
    assert search_communes(gdf, "vinh").empty


def test_real_nghe_an_loads(nghe_an_gdf):
    assert len(nghe_an_gdf) == 130
    assert nghe_an_gdf.loc["17248", "full_name"] == "Xã Châu Khê"
    assert set(nghe_an_gdf["unit_type"]) == {"Xã", "Phường"}
    # Phường Cửa Lò lost a digit in the source: flagged
    assert bool(nghe_an_gdf.loc["16732", "population_suspect"]) is True
    assert list(search_communes(nghe_an_gdf, "chau khe").index) == ["17248"]
