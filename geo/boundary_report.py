"""What loading boundaries repaired and found suspicious: the report, and the checks that warn
(suspect populations, units far from the rest of their province)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.measure import local_metric_frame
from geo.points import representative_points

log = logging.getLogger("geo.boundaries")

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


def suspicious_population(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Population values that look wrong: missing, under 2,000 outside special zones, or a
    ward (phường) under 300 people per km² (the rules of the shared data's README)."""
    pop: pd.Series = gdf["population"]
    density = pop / gdf["area_km2"].where(gdf["area_km2"] > 0)
    flags: pd.Series = (
        pop.isna()
        | ((pop < 2000) & (gdf["unit_type"] != SPECIAL_ZONE))
        | ((gdf["unit_type"] == WARD) & (density < 300))
    )
    return flags


def warn_population(gdf: gpd.GeoDataFrame, report: BoundaryReport) -> None:
    bad = gdf.index[gdf["population_suspect"]]
    if len(bad):
        examples = ", ".join(
            f"{gdf.at[c, 'full_name']} {c}: {gdf.at[c, 'population']:.0f}" for c in bad[:5]
        )
        report.warn(
            "suspect_population",
            list(bad),
            f"{len(bad)} unit(s) with a suspect population "
            f"({examples}{', ...' if len(bad) > 5 else ''}); "
            "replace with official figures where you have them",
        )


def warn_far_units(gdf: gpd.GeoDataFrame, report: BoundaryReport, *, far_km: float) -> None:
    """Report units whose nearest unit of the same province is more than ``far_km`` away.

    Cheap bounds decide almost every unit: the distance between two units is at most the
    geodesic distance between their representative points, and at least the distance between
    their bounding boxes. Only units the bounds leave undecided are measured on full geometry,
    against the units that may lie within ``far_km``, nearest bounds first, until one does.
    """
    if len(gdf) < 2:
        return
    geoms = gdf.geometry.values
    objects = np.asarray(geoms, dtype=object)
    rep_x, rep_y = representative_points(objects)
    bounds = shapely.bounds(objects)
    abs_lat = np.abs(bounds[:, [1, 3]])
    km_per_deg = 111.32 * np.cos(np.radians(abs_lat.max(axis=1)))  # conservative (lower bound)
    codes = gdf.index.to_numpy()
    far = []
    for idx in gdf.groupby("province_code").indices.values():
        if len(idx) < 2:
            continue
        x, y = rep_x[idx], rep_y[idx]
        # an upper bound of the distance between the representative points, planar (no
        # all-pairs geodesics): the largest km per degree of longitude in the province (its
        # latitude nearest the equator) and of latitude (111.7 km, at the poles), plus 1 %
        kx_max = 111.33 * np.cos(np.radians(abs_lat[idx].min()))
        upper = 1.01 * np.hypot(
            (x[:, None] - x[None, :]) * kx_max, (y[:, None] - y[None, :]) * 111.7
        )
        np.fill_diagonal(upper, np.inf)
        b = bounds[idx]
        dx = np.maximum(0, np.maximum(b[:, None, 0] - b[None, :, 2], b[None, :, 0] - b[:, None, 2]))
        dy = np.maximum(0, np.maximum(b[:, None, 1] - b[None, :, 3], b[None, :, 1] - b[:, None, 3]))
        lower = np.hypot(dx * km_per_deg[idx][:, None], dy * 110.5)
        np.fill_diagonal(lower, np.inf)
        for k in np.flatnonzero(upper.min(axis=1) > far_km).tolist():  # the undecided
            i = idx[k]
            candidates = np.flatnonzero(lower[k] <= far_km)
            if len(candidates) == 0:  # far for sure: measure the few nearest for the report
                candidates = np.argsort(lower[k])[: min(5, len(idx) - 1)]  # self sorts last (inf)
            else:  # nearest first (by the lower bound): the first one near enough decides
                candidates = candidates[np.argsort(lower[k][candidates], kind="stable")]
            d = math.inf
            for c in candidates.tolist():
                if lower[k, c] >= d:  # this one and the rest (farther bounds) cannot be nearer
                    break
                d = min(d, _distance_km(geoms[i], geoms[idx[c]]))
                if d <= far_km:
                    break
            if d > far_km:
                far.append((codes[i], d))
    if far:
        desc = ", ".join(f"{gdf.at[c, 'full_name']} {c} ({d:.0f} km)" for c, d in far[:8])
        report.warn(
            "far_unit",
            [c for c, _ in far],
            f"{len(far)} unit(s) lie more than {far_km:g} km from every other unit of their "
            f"province: {desc}",
        )


def _distance_km(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Distance between two lon/lat geometries in a local metric frame (km)."""
    to_m = local_metric_frame((a.centroid.y + b.centroid.y) / 2, (a.centroid.x + b.centroid.x) / 2)
    return float(shapely.distance(shapely.transform(a, to_m), shapely.transform(b, to_m))) / 1000
