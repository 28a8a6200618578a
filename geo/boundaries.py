"""Load commune boundaries from any file GeoPandas reads, with a normalised, validated schema.

Finding and reading the file is here; the schema and its checks are in
:mod:`geo.boundary_schema`, the report of what was repaired or looks suspicious in
:mod:`geo.boundary_report` (both re-exported here).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.boundary_report import (
    SPECIAL_ZONE,
    WARD,
    BoundaryIssue,
    BoundaryReport,
    suspicious_population,
)
from geo.boundary_schema import SCHEMA, SOURCE_COLUMNS, normalise_boundaries
from geo.errors import BoundariesNotFoundError, BoundaryError
from geo.wkb import RingArrays, polygons_from_wkb

__all__ = [
    "GEODATA_SUFFIXES",
    "SCHEMA",
    "SOURCE_COLUMNS",
    "SPECIAL_ZONE",
    "WARD",
    "BoundaryIssue",
    "BoundaryReport",
    "find_boundaries_file",
    "load_boundaries",
    "load_boundaries_and_rings",
    "normalise_boundaries",
    "read_geodata",
    "read_geodata_rings",
    "search_communes",
    "suspicious_population",
]

log = logging.getLogger(__name__)

#: File endings looked for in ``data/boundaries/``.
GEODATA_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".parquet")


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
                    f"boundaries file {str(p)!r} (from {label}) does not exist",
                    code="file_not_found",
                    params={"path": str(p), "source": label},
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
                "LIENXA_BOUNDARIES",
                code="several_boundaries_files",
                params={"folder": str(folder), "names": names},
            )
    raise BoundariesNotFoundError(
        "no boundaries file: pass --boundaries FILE, set LIENXA_BOUNDARIES, or put one file in "
        "data/boundaries/ (see data/boundaries/README.md: the post-2025 commune boundaries, e.g. "
        "../shared/data/boundaries/nghe-an-2025.geojson)",
        code="boundaries_not_found",
    )


def read_geodata(path: str | os.PathLike[str], *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read ``path`` (GeoJSON, GeoPackage, Shapefile, zipped or not, ...) as it is.

    Raises
    ------
    BoundaryError
        If the file cannot be read as geodata or has no geometry column.
    """
    return read_geodata_rings(path, layer=layer)[0]


#: Formats a reader opens and seeks cheaply: their attributes and their geometries are read in
#: two passes, the geometries as WKB straight into arrays (:mod:`geo.wkb`). A GeoJSON is parsed
#: whole on every open, so it is read in one pass, as GeoPandas reads it.
_TWO_PASS_SUFFIXES = (".gpkg", ".shp", ".fgb")


def read_geodata_rings(
    path: str | os.PathLike[str], *, layer: str | None = None, edges_ahead: bool = False
) -> tuple[gpd.GeoDataFrame, RingArrays | None]:
    """:func:`read_geodata`, and for 2-D polygons read from a GeoPackage, Shapefile or
    FlatGeobuf, the arrays the geometries were made from (see :mod:`geo.wkb`; the shared-edge
    pass of :func:`geo.adjacency.build_adjacency` takes them instead of copying every
    coordinate out of GEOS again). Same frame either way.

    ``edges_ahead``: for a caller that builds the graph next, start that shared-edge pass on
    the arrays as soon as they are read, on a core of its own (:func:`geo.parallel.ahead`;
    ``rings.exact``), while the attributes are read and the geometries validated: the graph
    takes its result if the geometries come through validation unchanged."""
    p = Path(path)
    target = str(p)
    if p.suffix.lower() == ".zip":
        target = f"zip://{p}"
    kwargs = {"layer": layer} if layer else {}
    rings = None
    try:
        if p.suffix.lower() == ".parquet":
            gdf = gpd.read_parquet(p)
        elif p.suffix.lower() in _TWO_PASS_SUFFIXES:
            gdf, rings = _read_two_pass(target, kwargs, edges_ahead)
        else:
            gdf = gpd.read_file(target, **kwargs)
    except Exception as exc:  # pyogrio raises several error types for unreadable input
        raise BoundaryError(
            f"{p.name} is not geodata that GeoPandas can read ({exc})",
            code="not_geodata",
            params={"name": p.name, "detail": str(exc)},
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise BoundaryError(
            f"{p.name} has no geometry column: it is not a boundaries file",
            code="no_geometry_column",
            params={"name": p.name},
        )
    return gdf, rings


def _read_two_pass(
    target: str, kwargs: dict[str, str], edges_ahead: bool = False
) -> tuple[gpd.GeoDataFrame | pd.DataFrame, RingArrays | None]:
    """The geometries as WKB, then the attributes as pyogrio reads them for GeoPandas (the
    shared-edge pass, with ``edges_ahead``, started in between)."""
    import pyogrio
    import shapely

    meta, _, wkbs, _ = pyogrio.raw.read(target, columns=[], **kwargs)
    rings = None
    if wkbs is not None:
        rings = polygons_from_wkb(wkbs, consume=True)  # the WKB is freed for GEOS to reuse
    if rings is not None and edges_ahead:
        from geo.exact_edges import exact_shared_edges
        from geo.parallel import ahead

        rings = rings._replace(exact=ahead(exact_shared_edges, rings.geoms, rings))
    attrs = pyogrio.read_dataframe(target, read_geometry=False, **kwargs)
    if wkbs is None:  # a table without geometry
        return attrs, None
    geoms = rings.geoms if rings is not None else shapely.from_wkb(wkbs)
    return gpd.GeoDataFrame(attrs, geometry=geoms, crs=meta["crs"]), rings


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
    return load_boundaries_and_rings(
        path, layer=layer, columns=columns, strict=strict, far_km=far_km
    )[0]


def load_boundaries_and_rings(
    path: str | os.PathLike[str] | None = None,
    *,
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    strict: bool = False,
    far_km: float = 30.0,
) -> tuple[gpd.GeoDataFrame, RingArrays | None]:
    """:func:`load_boundaries`, and the arrays the geometries were read from where
    :func:`read_geodata_rings` has them (for :func:`geo.adjacency.build_adjacency`'s
    ``rings``; they describe the frame's geometries unless a repair or a reprojection replaced
    them, which the graph checks)."""
    p = find_boundaries_file(path)
    raw, rings = read_geodata_rings(p, layer=layer, edges_ahead=True)
    gdf = normalise_boundaries(raw, columns=columns, strict=strict, far_km=far_km, source=p.name)
    log.info("loaded %d units from %s", len(gdf), p)
    return gdf, rings


def search_communes(
    gdf: gpd.GeoDataFrame, query: str, *, limit: int = 20, near: Collection[str] = ()
) -> gpd.GeoDataFrame:
    """Communes whose name or code matches ``query``, with or without diacritics, best first.

    Every word of the folded query must occur in the folded name, full name, province or
    code; exact name matches come first, then the communes in ``near`` (see
    :meth:`geo.names.NameIndex.search`, which a service keeps built: this builds it per call).
    """
    from geo.names import NameIndex

    hits = NameIndex.from_gdf(gdf).search(query, near=near, limit=limit)
    return gdf.loc[[c.code for c in hits]]
