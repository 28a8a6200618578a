"""The "4 on-site" resource catalogue, inventories (CSV) and a labelled sample generator."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from geo.errors import LienXaError

PILLARS = ("forces", "means", "materials", "logistics")
MAX_QUANTITY = 2**31 - 1  # the largest quantity a database integer column holds
SAMPLE_LABEL = "SAMPLE DATA (generated from population and area, not a survey)"


class CatalogueError(LienXaError):
    """A resource catalogue file is malformed."""


class InventoryError(LienXaError):
    """An inventory is invalid; ``errors`` lists every problem (with its line for files)."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        self.errors = list(errors or [message])
        super().__init__(message)


@dataclass(frozen=True)
class Resource:
    """One kind of on-site resource: key, pillar, labels and unit."""

    key: str
    pillar: str
    label_vi: str
    label_en: str
    unit: str


#: The catalogue of CONTRACT.md: these keys stay.
DEFAULT_RESOURCES = (
    Resource("militia", "forces", "dân quân", "militia", "người"),
    Resource("shock_team", "forces", "đội xung kích PCTT", "disaster shock team", "người"),
    Resource("police", "forces", "công an xã", "commune police", "người"),
    Resource("youth_volunteers", "forces", "thanh niên tình nguyện", "youth volunteers", "người"),
    Resource("medical_staff", "forces", "nhân viên y tế", "medical staff", "người"),
    Resource("boats", "means", "xuồng, ca nô", "boats", "chiếc"),
    Resource("trucks", "means", "xe tải", "trucks", "chiếc"),
    Resource("excavators", "means", "máy xúc", "excavators", "chiếc"),
    Resource("generators", "means", "máy phát điện", "generators", "cái"),
    Resource("life_jackets", "materials", "áo phao", "life jackets", "cái"),
    Resource("sandbags", "materials", "bao cát", "sandbags", "bao"),
    Resource("tarpaulins", "materials", "bạt", "tarpaulins", "tấm"),
    Resource("rice_kg", "logistics", "gạo", "rice", "kg"),
    Resource("drinking_water_l", "logistics", "nước uống", "drinking water", "lít"),
    Resource("medicine_kits", "logistics", "cơ số thuốc", "medicine kits", "bộ"),
    Resource("shelter_places", "logistics", "chỗ ở tạm", "temporary shelter places", "người"),
)


class Catalogue(Mapping[str, Resource]):
    """Resources by key, in catalogue order."""

    def __init__(self, resources: Collection[Resource]) -> None:
        self._by_key = {r.key: r for r in resources}

    def __getitem__(self, key: str) -> Resource:
        return self._by_key[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def by_pillar(self) -> dict[str, list[Resource]]:
        """Resources grouped by pillar, pillars in the 4-on-site order."""
        out: dict[str, list[Resource]] = {p: [] for p in PILLARS}
        for r in self._by_key.values():
            out.setdefault(r.pillar, []).append(r)
        return out


#: Environment variable naming a catalogue file (JSON or YAML) that extends the default one
#: wherever :func:`load_catalogue` is called without a path (CLI, service, planner).
CATALOGUE_ENV = "LIENXA_CATALOGUE"

_DEFAULT_CATALOGUE = Catalogue(DEFAULT_RESOURCES)
_FILE_CACHE: dict[tuple[str, int, int], Catalogue] = {}


def load_catalogue(path: str | os.PathLike[str] | None = None) -> Catalogue:
    """The default catalogue, extended (or relabelled) by a JSON or YAML file.

    The file holds a list of ``{key, pillar, label_vi, label_en, unit}`` (or ``{"resources":
    [...]}``); a key of the default catalogue keeps its place, new keys are appended. Without
    ``path``, the file named by the ``LIENXA_CATALOGUE`` environment variable is used, if set,
    so an extension reaches every part (inventories, scenarios, rules, planner). A file is
    read again only when it changes.

    Parameters
    ----------
    path
        The catalogue file; default ``$LIENXA_CATALOGUE``, else the built-in catalogue.

    Returns
    -------
    Catalogue
        Resources by key, in catalogue order.

    Raises
    ------
    CatalogueError
        If the file cannot be read, is not valid JSON/YAML, or a resource lacks a key or names
        an unknown pillar.
    """
    if path is None:
        path = os.environ.get(CATALOGUE_ENV) or None
    if path is None:
        return _DEFAULT_CATALOGUE
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise CatalogueError(f"cannot read catalogue file {p}: {exc}") from exc
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    catalogue = _FILE_CACHE.get(key)
    if catalogue is None:
        catalogue = _read_catalogue(p)
        _FILE_CACHE.clear()  # one file in use at a time: keep only the latest
        _FILE_CACHE[key] = catalogue
    return catalogue


def _read_catalogue(path: Path) -> Catalogue:
    resources = {r.key: r for r in DEFAULT_RESOURCES}
    data = _read_structured(path)
    items = data.get("resources", data) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise CatalogueError(f"{path}: expected a list of resources")
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise CatalogueError(f"{path}: resource #{i} needs a string 'key'")
        key = item["key"]
        base = resources.get(key)
        pillar = item.get("pillar", base.pillar if base else None)
        if pillar not in PILLARS:
            raise CatalogueError(
                f"{path}: resource {key!r} has pillar {pillar!r}; use one of {', '.join(PILLARS)}"
            )
        resources[key] = Resource(
            key,
            pillar,
            item.get("label_vi", base.label_vi if base else key),
            item.get("label_en", base.label_en if base else key),
            item.get("unit", base.unit if base else ""),
        )
    return Catalogue(list(resources.values()))


def _read_structured(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read {path}: {exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CatalogueError(f"{path.name} is not valid YAML: {exc}") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CatalogueError(f"{path.name} is not valid JSON: {exc}") from exc


def format_count_vi(n: int) -> str:
    """An integer with Vietnamese thousands separators: ``1556`` -> ``"1.556"``."""
    return f"{int(n):,}".replace(",", ".")


def quantity_vi(quantity: int, resource: Resource) -> str:
    """A quantity of a resource as a natural Vietnamese phrase.

    - the unit is left out when the label already starts with it: ``188 bao cát``, not
      ``188 bao bao cát``;
    - a count of people served by something that is not a person (unit ``người`` outside the
      forces pillar): ``chỗ ở tạm cho 194 người``;
    - otherwise ``quantity unit label``: ``4 chiếc xuồng, ca nô``, ``1.556 kg gạo``,
      ``120 người dân quân`` (``người`` as the classifier of a force).

    Quantities carry Vietnamese thousands separators (``1.556``).
    """
    n = format_count_vi(quantity)
    label, unit = resource.label_vi.strip(), resource.unit.strip()
    if (
        not unit
        or label.casefold() == unit.casefold()
        or label.casefold().startswith(unit.casefold() + " ")
    ):
        return f"{n} {label}"
    if unit == "người" and resource.pillar != "forces":
        return f"{label} cho {n} {unit}"
    return f"{n} {unit} {label}"


def validate_inventory_items(
    items: Mapping[str, Any], *, catalogue: Mapping[str, Resource] | None = None
) -> dict[str, int]:
    """Check a ``{resource: quantity}`` mapping (an API body) and return it with int values.

    Raises
    ------
    InventoryError
        Naming every unknown resource and every negative, non-integer or too large
        (over ``MAX_QUANTITY``) quantity.
    """
    catalogue = catalogue or load_catalogue()
    errors = []
    out: dict[str, int] = {}
    for key, value in items.items():
        if key not in catalogue:
            errors.append(f"unknown resource {key!r}")
            continue
        q = _as_quantity(value)
        if q is None:
            errors.append(f"{key}: quantity must be a non-negative integer, got {value!r}")
        elif q > MAX_QUANTITY:
            errors.append(f"{key}: quantity {q} is over the largest storable, {MAX_QUANTITY}")
        else:
            out[key] = q
    if errors:
        raise InventoryError("; ".join(errors), errors)
    return out


def _as_quantity(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value) if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        try:  # ASCII only: "²" is a digit to isdigit() but not to int()
            return int(value.strip())
        except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
            return None
    return None


def read_inventory_csv(
    source: str | os.PathLike[str] | TextIO,
    *,
    communes: Collection[str],
    catalogue: Mapping[str, Resource] | None = None,
) -> dict[str, dict[str, int]]:
    """Read a long-form inventory CSV (``commune,resource,quantity``).

    ``source`` is a path, a file object, or the CSV text itself (when it contains a newline).
    Lines starting with ``#`` are comments (the sample generator labels its files that way).

    Raises
    ------
    InventoryError
        Listing every bad line (unknown commune or resource, negative, non-integer or too large
        quantity, duplicate row, missing header); nothing is returned from a file with errors.
    """
    catalogue = catalogue or load_catalogue()
    known = set(communes)
    if hasattr(source, "read"):
        text = source.read()  # type: ignore[union-attr]
        name = getattr(source, "name", "inventory")
    elif isinstance(source, str) and "\n" in source:
        text, name = source, "inventory"
    else:
        path = Path(source)  # type: ignore[arg-type]
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError as exc:
            raise InventoryError(f"inventory file {path} does not exist") from exc
        except UnicodeDecodeError as exc:
            raise InventoryError(f"{path}: not UTF-8 text ({exc})") from exc
        name = path.name
    lines = [
        (n, line)
        for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InventoryError(f"{name}: empty inventory (header commune,resource,quantity expected)")
    header_no, header = lines[0]
    cols = [c.strip().lower() for c in next(csv.reader([header]))]
    if cols[:3] != ["commune", "resource", "quantity"]:
        raise InventoryError(
            f"{name} line {header_no}: header must be commune,resource,quantity, got {header!r}"
        )
    errors: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    out: dict[str, dict[str, int]] = {}
    for n, line in lines[1:]:
        row = next(csv.reader([line]))
        if len(row) < 3:
            errors.append(f"line {n}: expected 3 fields, got {len(row)}")
            continue
        commune, resource, raw = (c.strip() for c in row[:3])
        if commune.isdigit() and len(commune) < 5:
            commune = commune.zfill(5)
        problems = []
        if commune not in known:
            problems.append(f"unknown commune {commune!r}")
        if resource not in catalogue:
            problems.append(f"unknown resource {resource!r}")
        q = _as_quantity(raw)
        if q is None:
            problems.append(f"quantity must be a non-negative integer, got {raw!r}")
        elif q > MAX_QUANTITY:
            problems.append(f"quantity {q} is over the largest storable, {MAX_QUANTITY}")
        if (commune, resource) in seen:
            problems.append(
                f"duplicate row for {commune}/{resource} (first on line {seen[(commune, resource)]})"
            )
        seen.setdefault((commune, resource), n)
        if problems:
            errors.append(f"line {n}: " + "; ".join(problems))
        elif q is not None:
            out.setdefault(commune, {})[resource] = q
    if errors:
        shown = "\n  ".join(errors[:20]) + (
            f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        )
        raise InventoryError(
            f"{name}: {len(errors)} bad line(s), nothing imported:\n  {shown}", errors
        )
    return out


def write_inventory_csv(
    inventory: Mapping[str, Mapping[str, int]],
    path: str | os.PathLike[str] | TextIO,
    *,
    sample: bool = False,
) -> None:
    """Write an inventory as the long-form CSV of CONTRACT.md (sample data labelled)."""
    buf = io.StringIO()
    if sample:
        buf.write(f"# {SAMPLE_LABEL}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["commune", "resource", "quantity"])
    for commune in sorted(inventory):
        for resource, q in inventory[commune].items():
            w.writerow([commune, resource, int(q)])
    if hasattr(path, "write"):
        path.write(buf.getvalue())  # type: ignore[union-attr]
    else:
        Path(path).write_text(buf.getvalue(), encoding="utf-8")


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
