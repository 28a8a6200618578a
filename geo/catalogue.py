"""The "4 on-site" resource catalogue (CONTRACT.md), extensible by a JSON/YAML file, and
quantities of resources phrased in Vietnamese."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo.errors import LienXaError
from geo.io import read_structured

PILLARS = ("forces", "means", "materials", "logistics")


class CatalogueError(LienXaError):
    """A resource catalogue file is malformed."""


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
        raise CatalogueError(
            f"cannot read catalogue file {p}: {exc}",
            code="file_unreadable",
            params={"path": str(p), "detail": str(exc)},
        ) from exc
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    catalogue = _FILE_CACHE.get(key)
    if catalogue is None:
        catalogue = _read_catalogue(p)
        _FILE_CACHE.clear()  # one file in use at a time: keep only the latest
        _FILE_CACHE[key] = catalogue
    return catalogue


def _read_catalogue(path: Path) -> Catalogue:
    resources = {r.key: r for r in DEFAULT_RESOURCES}
    data = read_structured(path, what="catalogue file", error_type=CatalogueError)
    items = data.get("resources", data) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise CatalogueError(
            f"{path}: expected a list of resources",
            code="catalogue_not_a_list",
            params={"path": str(path)},
        )
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise CatalogueError(
                f"{path}: resource #{i} needs a string 'key'",
                code="catalogue_key_missing",
                field="key",
                params={"path": str(path), "position": i},
            )
        resources[item["key"]] = _catalogue_entry(path, item, resources.get(item["key"]))
    return Catalogue(list(resources.values()))


def _catalogue_entry(path: Path, item: Mapping[str, Any], base: Resource | None) -> Resource:
    key = item["key"]
    pillar = item.get("pillar", base.pillar if base else None)
    if pillar not in PILLARS:
        raise CatalogueError(
            f"{path}: resource {key!r} has pillar {pillar!r}; use one of {', '.join(PILLARS)}",
            code="unknown_pillar",
            field="pillar",
            params={"path": str(path), "resource": key, "pillar": str(pillar)},
        )
    return Resource(
        key,
        pillar,
        str(item.get("label_vi", base.label_vi if base else key)),
        str(item.get("label_en", base.label_en if base else key)),
        str(item.get("unit", base.unit if base else "")),
    )


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
