"""Boundaries mapped onto the normalised schema and validated (:func:`normalise_boundaries`):
codes, geometries and attributes, each error with its code."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.boundary_report import (
    BoundaryIssue,
    BoundaryReport,
    suspicious_population,
    warn_far_units,
    warn_population,
)
from geo.errors import BoundaryError
from geo.parallel import chunked
from geo.text import fold, strip_diacritics

log = logging.getLogger("geo.boundaries")

#: The normalised columns, in order, after the index ``code``.
SCHEMA = (
    "name",
    "full_name",
    "name_ascii",
    "name_folded",
    "unit_type",
    "province_code",
    "province_name",
    "population",
    "population_suspect",
    "area_km2",
)

#: For each normalised field, the source column names tried in order (the shared files use
#: the first). ``columns=`` in :func:`load_boundaries` overrides any of them.
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("ma_xa", "code", "ma", "commune_code", "ward_code"),
    "name": ("ten_xa", "name", "ten"),
    "full_name": ("ten_day_du", "full_name"),
    "name_ascii": ("ten_en", "name_ascii", "name_en"),
    "unit_type": ("loai", "unit_type", "type"),
    "province_code": ("ma_tinh", "province_code"),
    "province_name": ("ten_tinh", "province_name"),
    "population": ("dan_so", "population", "pop"),
    "population_suspect": ("dan_so_nghi_ngo", "population_suspect"),
    "area_km2": ("area_km2", "dien_tich", "area"),
}


def _error(message: str, code: str, field: str | None = None, **params: Any) -> BoundaryError:
    return BoundaryError(message, code=code, field=field, params=params)


def _pick(raw: pd.DataFrame, field_name: str, columns: Mapping[str, str]) -> str | None:
    if field_name in columns:
        col = columns[field_name]
        if col not in raw.columns:
            raise _error(
                f"column {col!r} given for {field_name!r} is not in the file; it has: "
                + ", ".join(map(str, raw.columns)),
                "column_not_in_file",
                field_name,
                column=col,
                columns=", ".join(map(str, raw.columns)),
            )
        return col
    return next((c for c in SOURCE_COLUMNS[field_name] if c in raw.columns), None)


def _normalise_codes(values: pd.Series, width: int = 5) -> pd.Series:
    """Codes as strings with leading zeros (numbers read from a file lose them)."""

    def one(v: object) -> str | None:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (int, np.integer)) or (isinstance(v, float) and float(v).is_integer()):
            return f"{int(v):0{width}d}"
        s = str(v).strip()
        if not s:
            return None
        return s.zfill(width) if s.isdigit() and len(s) < width else s

    return values.map(one)


def _describe(codes: pd.Index | list[str], limit: int = 10) -> str:
    codes = list(codes)
    more = f" and {len(codes) - limit} more" if len(codes) > limit else ""
    return ", ".join(map(str, codes[:limit])) + more


def _check_frame(raw: gpd.GeoDataFrame, columns: Mapping[str, str], source: str) -> None:
    unknown = set(columns) - set(SOURCE_COLUMNS)
    if unknown:
        raise _error(
            f"unknown field(s) in column mapping: {', '.join(sorted(unknown))}; "
            f"known: {', '.join(SOURCE_COLUMNS)}",
            "unknown_column_mapping",
            fields=", ".join(sorted(unknown)),
        )
    if raw.crs is None:
        raise _error(
            f"{source} has no CRS: set one in the file (e.g. EPSG:4326 for lon/lat) before loading",
            "no_crs",
            source=source,
        )
    if len(raw) == 0:
        raise _error(f"{source} holds no features", "no_features", source=source)


def _codes(raw: gpd.GeoDataFrame, columns: Mapping[str, str], source: str) -> pd.Series:
    """The features' commune codes: present, 5 digits, unique."""
    code_col = _pick(raw, "code", columns)
    if code_col is None:
        raise _error(
            f"{source} has no commune code column "
            f"(looked for {', '.join(SOURCE_COLUMNS['code'])}); "
            "map one with columns={'code': ...} (CLI: --column code=NAME)",
            "no_code_column",
            "code",
            source=source,
        )
    codes = _normalise_codes(raw[code_col])
    missing = codes.isna()
    if missing.any():
        rows = _describe([str(i + 1) for i in np.flatnonzero(missing.to_numpy())])
        raise _error(
            f"{source}: {int(missing.sum())} feature(s) without a commune code (feature #{rows})",
            "features_without_code",
            "code",
            count=int(missing.sum()),
            features=rows,
        )
    malformed = ~codes.str.fullmatch(r"\d{5}")
    if malformed.any():
        bad = _describe(codes[malformed].tolist())
        raise _error(
            f"{source}: commune codes must be 5 digits, got {bad}",
            "code_malformed",
            "code",
            codes=bad,
        )
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        bad = _describe(sorted(set(dup)))
        raise _error(
            f"{source}: duplicate commune codes {bad}", "duplicate_codes", "code", codes=bad
        )
    return codes


def _repair(geom: gpd.GeoSeries, strict: bool, source: str, report: BoundaryReport) -> None:
    """Make invalid geometries valid in place (refused when ``strict``)."""
    values = np.asarray(geom.values, dtype=object)
    invalid = ~chunked(shapely.is_valid, values, weights=shapely.get_num_coordinates(values))
    if not invalid.any():
        return
    bad_codes = list(geom.index[invalid])
    reasons = shapely.is_valid_reason(geom[invalid].values)
    detail = "; ".join(f"{c}: {r}" for c, r in list(zip(bad_codes, reasons, strict=True))[:5])
    if strict:
        raise _error(
            f"{source}: invalid geometries ({detail}); repair them or load without --strict",
            "invalid_geometry",
            "geometry",
            detail=detail,
        )
    fixed = shapely.make_valid(geom[invalid].values)
    geom[invalid] = np.array([_polygonal_part(g) for g in fixed], dtype=object)
    report.repaired.append(BoundaryIssue("invalid_geometry", bad_codes, f"made valid: {detail}"))
    log.warning("repaired %d invalid geometries (%s)", len(bad_codes), detail)
    still_empty = geom.is_empty
    if still_empty.any():
        bad = _describe(geom.index[still_empty])
        raise _error(
            f"{source}: geometry of {bad} is empty after repair",
            "empty_after_repair",
            "geometry",
            codes=bad,
        )


def _geometries(
    raw: gpd.GeoDataFrame, codes: pd.Series, strict: bool, source: str, report: BoundaryReport
) -> gpd.GeoSeries:
    """The polygons, indexed by code, repaired unless ``strict``."""
    geom = raw.geometry.copy()
    geom.index = pd.Index(codes, name="code")
    empty = geom.isna() | geom.is_empty
    if empty.any():
        bad = _describe(geom.index[empty])
        raise _error(
            f"{source}: empty or missing geometry for {bad}",
            "empty_geometry",
            "geometry",
            codes=bad,
        )
    polygonal = geom.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygonal.all():
        bad = geom[~polygonal]
        kinds = ", ".join(
            f"{c} ({t})" for c, t in zip(bad.index[:10], bad.geom_type[:10], strict=True)
        )
        raise _error(
            f"{source}: non-polygon geometries for {kinds}; communes must be polygons",
            "non_polygon_geometry",
            "geometry",
            codes=kinds,
        )
    _repair(geom, strict, source, report)
    return geom


def _names(col: Any, index: pd.Index, source: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Name, full name and unit type (each derived from the others where missing)."""
    name, full_name, unit_type = col("name"), col("full_name"), col("unit_type")
    if name is None and full_name is None:
        raise _error(
            f"{source} has no commune name column; map one with columns={{'name': ...}}",
            "no_name_column",
            "name",
            source=source,
        )
    if unit_type is None:
        unit_type = pd.Series("Xã", index=index)
    unit_type = unit_type.fillna("").astype(str).str.strip()
    if name is None:
        name = full_name.astype(str).str.replace(r"^(Xã|Phường|Đặc khu)\s+", "", regex=True)
    name = name.fillna("").astype(str).str.strip()
    if full_name is None:
        full_name = (unit_type + " " + name).str.strip()
    return name, full_name.fillna("").astype(str), unit_type


def _numbers(col: Any, gdf: gpd.GeoDataFrame) -> None:
    """Population, area (measured where missing) and the suspect-population flag."""
    pop = col("population")
    gdf["population"] = (
        pd.to_numeric(pop, errors="coerce").astype(float) if pop is not None else np.nan
    )
    area = col("area_km2")
    if area is not None:
        gdf["area_km2"] = pd.to_numeric(area, errors="coerce").astype(float)
    else:
        gdf["area_km2"] = np.nan
    no_area = gdf["area_km2"].isna()
    if no_area.any():
        gdf.loc[no_area, "area_km2"] = gdf.geometry[no_area].to_crs("EPSG:6933").area / 1e6
    flagged = col("population_suspect")
    flagged = (
        flagged.fillna(False).astype(bool)
        if flagged is not None
        else pd.Series(False, index=gdf.index)
    )
    gdf["population_suspect"] = flagged | suspicious_population(gdf)


def _attributes(
    gdf: gpd.GeoDataFrame, raw: gpd.GeoDataFrame, columns: Mapping[str, str], source: str
) -> gpd.GeoDataFrame:
    def col(field_name: str) -> pd.Series | None:
        c = _pick(raw, field_name, columns)
        if c is None:
            return None
        s: pd.Series = raw[c].copy()
        s.index = gdf.index
        return s

    name, full_name, unit_type = _names(col, gdf.index, source)
    gdf["name"] = name
    gdf["full_name"] = full_name
    ascii_ = col("name_ascii")
    gdf["name_ascii"] = (
        ascii_.fillna("").astype(str) if ascii_ is not None else name.map(strip_diacritics)
    )
    gdf["name_folded"] = name.map(fold)
    gdf["unit_type"] = unit_type
    prov = col("province_code")
    gdf["province_code"] = _normalise_codes(prov, width=2) if prov is not None else ""
    pname = col("province_name")
    gdf["province_name"] = pname.fillna("").astype(str) if pname is not None else ""
    _numbers(col, gdf)
    return gdf[[*SCHEMA, "geometry"]]


def normalise_boundaries(
    raw: gpd.GeoDataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    strict: bool = False,
    far_km: float = 30.0,
    source: str = "boundaries",
) -> gpd.GeoDataFrame:
    """Validate ``raw`` and map its columns onto the normalised schema (a new frame).

    Raises
    ------
    BoundaryError
        No CRS (``no_crs``); no code column (``no_code_column``); missing, malformed or
        duplicate codes (``features_without_code``, ``code_malformed``, ``duplicate_codes``);
        empty geometries (``empty_geometry``); non-polygon geometries
        (``non_polygon_geometry``); invalid geometries when ``strict`` (``invalid_geometry``);
        also ``unknown_column_mapping``, ``column_not_in_file``, ``no_features``,
        ``empty_after_repair``, ``no_name_column``.
    """
    columns = dict(columns or {})
    _check_frame(raw, columns, source)
    report = BoundaryReport(source=source)
    codes = _codes(raw, columns, source)
    geom = _geometries(raw, codes, strict, source, report)
    gdf = gpd.GeoDataFrame(index=geom.index, geometry=geom.values, crs=raw.crs)
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    gdf = _attributes(gdf, raw, columns, source)
    warn_population(gdf, report)
    warn_far_units(gdf, report, far_km=far_km)
    gdf.attrs["report"] = report
    return gdf


def _polygonal_part(g: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a ``make_valid`` result (which may be a collection)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else shapely.Polygon()
