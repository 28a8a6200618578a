"""The "4 on-site" resources: the catalogue (:mod:`geo.catalogue`), inventories
(:mod:`geo.inventory`, re-exported here) and a labelled sample generator."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from geo.catalogue import (
    CATALOGUE_ENV,
    DEFAULT_RESOURCES,
    PILLARS,
    Catalogue,
    CatalogueError,
    Resource,
    format_count_vi,
    load_catalogue,
    quantity_vi,
)
from geo.inventory import (
    MAX_QUANTITY,
    SAMPLE_LABEL,
    InventoryError,
    read_inventory_csv,
    validate_inventory_items,
    write_inventory_csv,
)

__all__ = [
    "CATALOGUE_ENV",
    "DEFAULT_RESOURCES",
    "MAX_QUANTITY",
    "PILLARS",
    "SAMPLE_LABEL",
    "SAMPLE_RATIOS",
    "Catalogue",
    "CatalogueError",
    "InventoryError",
    "Resource",
    "format_count_vi",
    "load_catalogue",
    "quantity_vi",
    "read_inventory_csv",
    "sample_inventory",
    "validate_inventory_items",
    "write_inventory_csv",
]


#: Ratios of the sample generator, per resource: (per 1,000 people, per km², floor).
SAMPLE_RATIOS: dict[str, tuple[float, float, int]] = {
    "militia": (8.0, 0.0, 20),
    "shock_team": (3.0, 0.0, 10),
    "police": (1.2, 0.0, 5),
    "youth_volunteers": (4.0, 0.0, 10),
    "medical_staff": (0.8, 0.0, 3),
    "boats": (0.15, 0.02, 1),
    "trucks": (0.15, 0.0, 1),
    "excavators": (0.03, 0.002, 0),
    "generators": (0.2, 0.0, 1),
    "life_jackets": (6.0, 0.05, 20),
    "sandbags": (60.0, 0.0, 200),
    "tarpaulins": (8.0, 0.0, 20),
    "rice_kg": (150.0, 0.0, 500),
    "drinking_water_l": (200.0, 0.0, 500),
    "medicine_kits": (1.0, 0.0, 5),
    "shelter_places": (40.0, 0.0, 100),
}


def sample_inventory(
    gdf: pd.DataFrame,
    *,
    seed: int = 0,
    catalogue: Mapping[str, Resource] | None = None,
) -> dict[str, dict[str, int]]:
    """A plausible, deterministic inventory for every commune, for when no survey exists.

    **Sample data**: every value is an estimate from population, area and unit type, and must
    be shown as such (``SAMPLE_LABEL``). Real inventories replace it (CSV import or the API).

    Ratios (per 1,000 people, plus per km² where space matters, with a floor), chosen so that a
    typical mountain xã of ~10,000 people and ~300 km² gets figures of the order the field
    reports describe:

    - forces: militia 8 ‰ of the population (the Militia Law's 0.5-2% of population, counting
      only those on call), shock team 3 ‰, commune police 1.2 ‰, youth volunteers 4 ‰,
      medical staff 0.8 ‰ (a commune health station of 5-10 staff);
    - means: boats 0.15 ‰ plus 0.02 per km² (large rural communes with rivers keep more, wards
      fewer: × 0.5), trucks 0.15 ‰, excavators 0.03 ‰ + 0.002/km² (road clearing in the
      mountains), generators 0.2 ‰;
    - materials: life jackets 6 ‰ + 0.05/km², sandbags 60 ‰, tarpaulins 8 ‰;
    - logistics: rice 150 kg per 1,000 people (a few days for the most exposed), drinking water
      200 L per 1,000 people, medicine kits 1 ‰, shelter places 4% of the population (schools,
      cultural houses).

    Population is unreliable in the shared data: where it is missing or flagged suspect, it is
    replaced by the commune's area times the median density of its 8 nearest trustworthy
    communes (mountain communes have mountain neighbours), at least 2,000, so a lost digit does
    not leave a commune with nothing. Each value is then multiplied by a seeded random factor in
    [0.7, 1.3] per commune and resource, so communes differ.
    """
    catalogue = catalogue or load_catalogue()
    rng = np.random.default_rng(seed)
    pop = gdf["population"].astype(float).copy()
    area = gdf["area_km2"].astype(float).fillna(0.0).clip(lower=0.0)
    unit_type = gdf["unit_type"] if "unit_type" in gdf else pd.Series("Xã", index=gdf.index)
    suspect = gdf["population_suspect"].astype(bool) if "population_suspect" in gdf else pop.isna()
    density = pop / area.where(area > 0)
    good = (~suspect & density.notna()).to_numpy()
    bad = ~good
    if bad.any() and good.any() and "geometry" in gdf:
        from scipy.spatial import cKDTree

        pts = gdf.geometry.representative_point()
        xy = np.column_stack((pts.x.to_numpy(), pts.y.to_numpy()))
        k = int(min(8, good.sum()))
        _, nearest = cKDTree(xy[good]).query(xy[bad], k=k)
        nearest = np.asarray(nearest).reshape(int(bad.sum()), k)
        dens = np.median(density.to_numpy()[good][nearest], axis=1)
        pop[bad] = np.maximum(area.to_numpy()[bad] * dens, 2000.0)
    elif bad.any():
        pop[bad] = 2000.0
    out: dict[str, dict[str, int]] = {}
    keys = [k for k in catalogue if k in SAMPLE_RATIOS]
    factors = rng.uniform(0.7, 1.3, size=(len(gdf), len(keys)))
    for row, code in enumerate(gdf.index):
        p, a = float(pop[code]) / 1000.0, float(area[code])
        ward = unit_type[code] == "Phường"
        items = {}
        for col, key in enumerate(keys):
            per_k, per_km2, floor = SAMPLE_RATIOS[key]
            value = per_k * p + per_km2 * a
            if key == "boats" and ward:
                value *= 0.5
            items[key] = max(floor, math.floor(value * factors[row, col] + 0.5))
        out[str(code)] = items
    return out
