"""Load commune boundaries from any file GeoPandas reads, with a normalised, validated schema."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import BoundariesNotFoundError, BoundaryError
from geo.measure import local_metric_frame
from geo.text import fold, strip_diacritics

log = logging.getLogger(__name__)

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

#: File endings looked for in ``data/boundaries/``.
GEODATA_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".parquet")

SPECIAL_ZONE = "Đặc khu"
WARD = "Phường"


@dataclass
class BoundaryIssue:
    """One finding of the validation: a kind, the communes concerned and a message."""

    kind: str
    codes: list[str]
    message: str


@dataclass
class BoundaryReport:
    """What validation repaired and what it found suspicious (warnings never stop a load)."""

    source: str = ""
    repaired: list[BoundaryIssue] = field(default_factory=list)
    warnings: list[BoundaryIssue] = field(default_factory=list)

    def warn(self, kind: str, codes: list[str], message: str) -> None:
        """Record a warning and log it."""
        self.warnings.append(BoundaryIssue(kind, list(codes), message))
        log.info("%s", message)

    def lines(self) -> list[str]:
        """The report as human-readable lines."""
        out = [f"repaired: {i.message}" for i in self.repaired]
        out += [f"warning: {i.message}" for i in self.warnings]
        return out


def find_boundaries_file(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the boundaries file to use.

    Looks at, in order: ``path``; the ``LIENXA_BOUNDARIES`` environment variable; the single
    geodata file in ``data/boundaries/`` (of the current directory, then of the project).

    Raises
    ------
    BoundariesNotFoundError
        If the file named does not exist, or none is found, with how to get one.
    """
    for label, candidate in (
        ("--boundaries", path),
        ("LIENXA_BOUNDARIES", os.environ.get("LIENXA_BOUNDARIES")),
    ):
        if candidate:
            p = Path(candidate).expanduser()
            if not p.exists():
                raise BoundariesNotFoundError(
                    f"boundaries file {str(p)!r} (from {label}) does not exist"
                )
            return p
    project_dir = Path(__file__).resolve().parent.parent / "data" / "boundaries"
    for folder in dict.fromkeys([Path("data/boundaries").resolve(), project_dir]):
        if not folder.is_dir():
            continue
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in GEODATA_SUFFIXES)
        if len(files) == 1:
            return files[0]
        if len(files) > 1:
            names = ", ".join(p.name for p in files)
            raise BoundariesNotFoundError(
                f"several boundaries files in {folder} ({names}); name one with --boundaries or "
                "LIENXA_BOUNDARIES"
            )
    raise BoundariesNotFoundError(
        "no boundaries file: pass --boundaries FILE, set LIENXA_BOUNDARIES, or put one file in "
        "data/boundaries/ (see data/boundaries/README.md: the post-2025 commune boundaries, e.g. "
        "../shared/data/boundaries/nghe-an-2025.geojson)"
    )


def read_geodata(path: str | os.PathLike[str], *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read ``path`` (GeoJSON, GeoPackage, Shapefile, zipped or not, ...) as it is.

    Raises
    ------
    BoundaryError
        If the file cannot be read as geodata or has no geometry column.
    """
    p = Path(path)
    target = str(p)
    if p.suffix.lower() == ".zip":
        target = f"zip://{p}"
    kwargs = {"layer": layer} if layer else {}
    try:
        if p.suffix.lower() == ".parquet":
            gdf = gpd.read_parquet(p)
        else:
            gdf = gpd.read_file(target, **kwargs)
    except Exception as exc:  # pyogrio raises several error types for unreadable input
        raise BoundaryError(f"{p.name} is not geodata that GeoPandas can read ({exc})") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise BoundaryError(f"{p.name} has no geometry column: it is not a boundaries file")
    return gdf


def load_boundaries(
    path: str | os.PathLike[str] | None = None,
    *,
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    strict: bool = False,
    far_km: float = 30.0,
) -> gpd.GeoDataFrame:
    """Read a boundaries file into a validated GeoDataFrame indexed by commune code.

    Parameters
    ----------
    path
        The file; when ``None`` it is found by :func:`find_boundaries_file`.
    layer
        The layer of a multi-layer source (GeoPackage).
    columns
        Source column for a normalised field, e.g. ``{"code": "MA_XA", "population": "POP"}``.
    strict
        Refuse invalid geometries instead of repairing them with ``make_valid``.
    far_km
        A unit whose nearest unit of the same province is farther than this is reported.

    Returns
    -------
    GeoDataFrame
        Index ``code`` (5-digit string), the columns of :data:`SCHEMA` and ``geometry`` in
        EPSG:4326. ``gdf.attrs["report"]`` is the :class:`BoundaryReport`.

    Raises
    ------
    BoundariesNotFoundError, BoundaryError
        See :func:`find_boundaries_file` and :func:`normalise_boundaries`.
    """
    p = find_boundaries_file(path)
    raw = read_geodata(p, layer=layer)
    gdf = normalise_boundaries(raw, columns=columns, strict=strict, far_km=far_km, source=p.name)
    log.info("loaded %d units from %s", len(gdf), p)
    return gdf


def _pick(raw: pd.DataFrame, field_name: str, columns: Mapping[str, str]) -> str | None:
    if field_name in columns:
        col = columns[field_name]
        if col not in raw.columns:
            raise BoundaryError(
                f"column {col!r} given for {field_name!r} is not in the file; it has: "
                + ", ".join(map(str, raw.columns))
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
        No CRS; no code column; missing, malformed or duplicate codes; empty geometries;
        non-polygon geometries; invalid geometries when ``strict``.
    """
    columns = dict(columns or {})
    unknown = set(columns) - set(SOURCE_COLUMNS)
    if unknown:
        raise BoundaryError(
            f"unknown field(s) in column mapping: {', '.join(sorted(unknown))}; "
            f"known: {', '.join(SOURCE_COLUMNS)}"
        )
    report = BoundaryReport(source=source)
    if raw.crs is None:
        raise BoundaryError(
            f"{source} has no CRS: set one in the file (e.g. EPSG:4326 for lon/lat) before loading"
        )
    if len(raw) == 0:
        raise BoundaryError(f"{source} holds no features")
    code_col = _pick(raw, "code", columns)
    if code_col is None:
        raise BoundaryError(
            f"{source} has no commune code column (looked for {', '.join(SOURCE_COLUMNS['code'])}); "
            "map one with columns={'code': ...} (CLI: --column code=NAME)"
        )
    codes = _normalise_codes(raw[code_col])
    missing = codes.isna()
    if missing.any():
        rows = _describe([str(i + 1) for i in np.flatnonzero(missing.to_numpy())])
        raise BoundaryError(
            f"{source}: {int(missing.sum())} feature(s) without a commune code (feature #{rows})"
        )
    malformed = ~codes.str.fullmatch(r"\d{5}")
    if malformed.any():
        raise BoundaryError(
            f"{source}: commune codes must be 5 digits, got {_describe(codes[malformed].tolist())}"
        )
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        raise BoundaryError(f"{source}: duplicate commune codes {_describe(sorted(set(dup)))}")

    geom = raw.geometry.copy()
    geom.index = pd.Index(codes, name="code")
    empty = geom.isna() | geom.is_empty
    if empty.any():
        raise BoundaryError(
            f"{source}: empty or missing geometry for {_describe(geom.index[empty])}"
        )
    polygonal = geom.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygonal.all():
        bad = geom[~polygonal]
        kinds = ", ".join(f"{c} ({t})" for c, t in zip(bad.index[:10], bad.geom_type[:10]))
        raise BoundaryError(
            f"{source}: non-polygon geometries for {kinds}; communes must be polygons"
        )
    invalid = ~geom.is_valid
    if invalid.any():
        bad_codes = list(geom.index[invalid])
        reasons = shapely.is_valid_reason(geom[invalid].values)
        detail = "; ".join(f"{c}: {r}" for c, r in list(zip(bad_codes, reasons))[:5])
        if strict:
            raise BoundaryError(
                f"{source}: invalid geometries ({detail}); repair them or load without --strict"
            )
        fixed = shapely.make_valid(geom[invalid].values)
        fixed = np.array([_polygonal_part(g) for g in fixed], dtype=object)
        geom[invalid] = fixed
        report.repaired.append(
            BoundaryIssue("invalid_geometry", bad_codes, f"made valid: {detail}")
        )
        log.warning("repaired %d invalid geometries (%s)", len(bad_codes), detail)
        still_empty = geom.is_empty
        if still_empty.any():
            raise BoundaryError(
                f"{source}: geometry of {_describe(geom.index[still_empty])} is empty after repair"
            )

    gdf = gpd.GeoDataFrame(index=geom.index, geometry=geom.values, crs=raw.crs)
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")

    def col(field_name: str) -> pd.Series | None:
        c = _pick(raw, field_name, columns)
        if c is None:
            return None
        s = raw[c].copy()
        s.index = gdf.index
        return s

    name = col("name")
    full_name = col("full_name")
    unit_type = col("unit_type")
    if name is None and full_name is None:
        raise BoundaryError(
            f"{source} has no commune name column; map one with columns={{'name': ...}}"
        )
    if unit_type is None:
        unit_type = pd.Series("Xã", index=gdf.index)
    unit_type = unit_type.fillna("").astype(str).str.strip()
    if name is None:
        assert full_name is not None  # checked above
        name = full_name.astype(str).str.replace(r"^(Xã|Phường|Đặc khu)\s+", "", regex=True)
    name = name.fillna("").astype(str).str.strip()
    if full_name is None:
        full_name = (unit_type + " " + name).str.strip()
    gdf["name"] = name
    gdf["full_name"] = full_name.fillna("").astype(str)
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
    gdf = gdf[[*SCHEMA, "geometry"]]

    _warn_population(gdf, report)
    _warn_far_units(gdf, report, far_km=far_km)
    gdf.attrs["report"] = report
    return gdf


def _polygonal_part(g: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a ``make_valid`` result (which may be a collection)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def suspicious_population(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Population values that look wrong: missing, under 2,000 outside special zones, or a
    ward (phường) under 300 people per km² (the rules of the shared data's README)."""
    pop = gdf["population"]
    density = pop / gdf["area_km2"].where(gdf["area_km2"] > 0)
    return (
        pop.isna()
        | ((pop < 2000) & (gdf["unit_type"] != SPECIAL_ZONE))
        | ((gdf["unit_type"] == WARD) & (density < 300))
    )


def _warn_population(gdf: gpd.GeoDataFrame, report: BoundaryReport) -> None:
    bad = gdf.index[gdf["population_suspect"]]
    if len(bad):
        examples = ", ".join(
            f"{gdf.at[c, 'full_name']} {c}: {gdf.at[c, 'population']:.0f}" for c in bad[:5]
        )
        report.warn(
            "suspect_population",
            list(bad),
            f"{len(bad)} unit(s) with a suspect population ({examples}{', ...' if len(bad) > 5 else ''}); "
            "replace with official figures where you have them",
        )


def _warn_far_units(gdf: gpd.GeoDataFrame, report: BoundaryReport, *, far_km: float) -> None:
    """Report units whose nearest unit of the same province is more than ``far_km`` away.

    Cheap bounds decide almost every unit: the distance between two units is at most the
    geodesic distance between their representative points, and at least the distance between
    their bounding boxes. Only units the bounds leave undecided are measured on full geometry.
    """
    if len(gdf) < 2:
        return
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    reps = gdf.geometry.representative_point()
    bounds = gdf.geometry.bounds.to_numpy()
    km_per_deg = 111.32 * np.cos(np.radians(np.abs(bounds[:, [1, 3]]).max(axis=1)))  # conservative
    codes = gdf.index.to_numpy()
    far = []
    for idx in gdf.groupby("province_code").indices.values():
        if len(idx) < 2:
            continue
        x, y = reps.x.to_numpy()[idx], reps.y.to_numpy()[idx]
        xi, xj = np.meshgrid(x, x, indexing="ij")
        yi, yj = np.meshgrid(y, y, indexing="ij")
        upper = geod.inv(xi.ravel(), yi.ravel(), xj.ravel(), yj.ravel())[2].reshape(xi.shape) / 1000
        np.fill_diagonal(upper, np.inf)
        b = bounds[idx]
        dx = np.maximum(0, np.maximum(b[:, None, 0] - b[None, :, 2], b[None, :, 0] - b[:, None, 2]))
        dy = np.maximum(0, np.maximum(b[:, None, 1] - b[None, :, 3], b[None, :, 1] - b[:, None, 3]))
        lower = np.hypot(dx * km_per_deg[idx][:, None], dy * 110.5)
        np.fill_diagonal(lower, np.inf)
        for k, i in enumerate(idx):
            if upper[k].min() <= far_km:
                continue
            candidates = np.flatnonzero(lower[k] <= far_km)
            if len(candidates) == 0:  # far for sure: measure the few nearest for the report
                candidates = np.argsort(lower[k])[: min(5, len(idx) - 1)]  # self sorts last (inf)
            d = min(_distance_km(gdf.geometry.iat[i], gdf.geometry.iat[idx[c]]) for c in candidates)
            if d > far_km:
                far.append((codes[i], d))
    if far:
        desc = ", ".join(f"{gdf.at[c, 'full_name']} {c} ({d:.0f} km)" for c, d in far[:8])
        report.warn(
            "far_unit",
            [c for c, _ in far],
            f"{len(far)} unit(s) lie more than {far_km:g} km from every other unit of their province: {desc}",
        )


def _distance_km(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Distance between two lon/lat geometries in a local metric frame (km)."""
    to_m = local_metric_frame((a.centroid.y + b.centroid.y) / 2, (a.centroid.x + b.centroid.x) / 2)
    return float(shapely.distance(shapely.transform(a, to_m), shapely.transform(b, to_m))) / 1000


def search_communes(gdf: gpd.GeoDataFrame, query: str, *, limit: int = 20) -> gpd.GeoDataFrame:
    """Communes whose name or code matches ``query``, with or without diacritics.

    Every word of the folded query must occur in the folded name, full name, province or
    code; exact name matches come first.
    """
    words = fold(query).split()
    if not words:
        return gdf.iloc[0:0]
    haystack = (
        gdf["name_folded"]
        + " "
        + gdf["full_name"].map(fold)
        + " "
        + gdf["province_name"].map(fold)
        + " "
        + gdf.index.to_series()
    )
    mask = pd.Series(True, index=gdf.index)
    for w in words:
        mask &= haystack.str.contains(w, regex=False)
    hits = gdf[mask]
    rank = (hits["name_folded"] != " ".join(words)).astype(int)
    return (
        hits.assign(_rank=rank)
        .sort_values(["_rank", "name_folded"])
        .drop(columns="_rank")
        .head(limit)
    )
