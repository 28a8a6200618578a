"""Bounded work per request: size checks on JSON bodies at the API boundary, before any route
parses them (see :class:`api.middleware.InputLimits`).

Every JSON body sent to the API is checked for:

- nesting depth (``json_too_deep``), scanned on the raw bytes before anything is parsed;
- strings: no lone surrogate (``invalid_unicode``: they cannot be stored or encoded), no NUL
  character (``nul_character``: PostgreSQL text cannot hold one), at most ``max_string``
  characters (``string_too_long``);
- numbers: finite (``number_not_finite``: ``NaN``/``Infinity`` are not JSON) and at most
  ``max_number`` in size (``number_too_large``: beyond what any count or id can be).

A flood scenario (``POST /api/v1/incidents``) is also checked for its ``name`` (the column's
255 characters) and its ``flood_extent``: a GeoJSON geometry, Feature or FeatureCollection
(``extent_not_geojson`` naming the bad part), at most ``max_extent_vertices`` positions in all
(``extent_too_complex``), at most ``max_extent_rings`` rings, and a bounding box at most
``max_extent_degrees`` wide and high (``extent_too_large``), all counted while walking the JSON,
before any geometry is built.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.errors import BadInput
from geo.i18n import N_


@dataclass(frozen=True)
class Limits:
    """The bounds (defaults generous for any real input, far below what hangs a worker)."""

    max_depth: int = 32
    max_string: int = 20_000
    max_number: float = float(2**53)
    max_name: int = 255
    max_extent_vertices: int = 20_000
    max_extent_rings: int = 2_000
    max_extent_degrees: float = 20.0


LIMITS = Limits()

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")

GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)


def _path(parts: tuple[str | int, ...]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "body"


def check_depth(raw: bytes, limit: int = LIMITS.max_depth) -> None:
    """Refuse JSON nested deeper than ``limit`` (scanned without parsing: strings skipped)."""
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise BadInput(
                    f"body: JSON nested deeper than {limit} levels",
                    code="json_too_deep",
                    field="body",
                    params={"limit": limit},
                )
        else:
            depth -= 1


def _not_finite(token: str) -> float:
    raise BadInput(
        f"body: {token} is not a JSON number",
        code="number_not_finite",
        field="body",
        params={"value": token},
    )


def parse_json(raw: bytes, limits: Limits = LIMITS) -> Any:
    """The JSON value of ``raw`` after the depth check; ``ValueError`` when it is not JSON."""
    check_depth(raw, limits.max_depth)
    return json.loads(raw, parse_constant=_not_finite)


def _check_string(value: str, where: tuple[str | int, ...], limit: int) -> None:
    field = _path(where)
    if len(value) > limit:
        raise BadInput(
            f"{field}: {len(value):,} characters, at most {limit:,}",
            code="string_too_long",
            field=field,
            params={"length": len(value), "max": limit},
        )
    if "\x00" in value:
        raise BadInput(
            f"{field}: a NUL character is not allowed",
            code="nul_character",
            field=field,
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(
            f"{field}: not valid Unicode (a lone surrogate)",
            code="invalid_unicode",
            field=field,
        ) from None


def _check_number(value: int | float, where: tuple[str | int, ...], limit: float) -> None:
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > limit:
        field = _path(where)
        raise BadInput(
            f"{field}: {value!r} is too large (at most {int(limit):,})",
            code="number_too_large",
            field=field,
            params={"max": int(limit)},
        )


def check_values(data: Any, limits: Limits = LIMITS, *, at: tuple[str | int, ...] = ()) -> None:
    """Every string and number of ``data`` within bounds (iteratively: no recursion); the
    errors name the field from ``at`` (the path of ``data`` itself)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, at)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            _check_string(value, where, limits.max_string)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int | float):
            _check_number(value, where, limits.max_number)
        elif isinstance(value, dict):
            for k, v in value.items():
                _check_string(k, where, limits.max_string)
                stack.append((v, (*where, k)))
        elif isinstance(value, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(value))


def _not_geojson(field: str, why: str) -> BadInput:
    return BadInput(
        f"{field}: not a GeoJSON geometry or FeatureCollection ({why})",
        code="extent_not_geojson",
        field=field,
        params={"detail": why},
    )


class _ExtentCount:
    """Positions, rings and bounding box of a flood extent, counted while it is walked."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.vertices = 0
        self.rings = 0
        self.box = [math.inf, math.inf, -math.inf, -math.inf]

    def position(self, p: Any, field: str) -> None:
        if (
            not isinstance(p, list)
            or not 2 <= len(p) <= 3
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
        ):
            raise _not_geojson(field, "a position is a list of 2 or 3 numbers")
        self.vertices += 1
        if self.vertices > self.limits.max_extent_vertices:
            raise BadInput(
                f"flood_extent: more than {self.limits.max_extent_vertices:,} vertices; "
                "simplify the extent before sending it",
                code="extent_too_complex",
                field="flood_extent",
                params={"limit": self.limits.max_extent_vertices, "what": "vertices"},
            )
        x, y = float(p[0]), float(p[1])
        b = self.box
        b[0], b[1], b[2], b[3] = min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)

    def coordinates(self, value: Any, depth: int, field: str) -> None:
        """``depth`` 0 is a position, 1 a list of them (a line or ring), 2 rings, 3 polygons."""
        if depth == 0:
            self.position(value, field)
            return
        if not isinstance(value, list):
            raise _not_geojson(field, "coordinates are nested lists of positions")
        if depth == 1:
            self.rings += 1
            if self.rings > self.limits.max_extent_rings:
                raise BadInput(
                    f"flood_extent: more than {self.limits.max_extent_rings:,} rings",
                    code="extent_too_complex",
                    field="flood_extent",
                    params={"limit": self.limits.max_extent_rings, "what": "rings"},
                )
        for item in value:
            self.coordinates(item, depth - 1, field)


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2}
_DEPTH |= {"Polygon": 2, "MultiPolygon": 3}


def _walk_extent(obj: Any, count: _ExtentCount, field: str, level: int = 0) -> None:
    if not isinstance(obj, Mapping):
        raise _not_geojson(field, "an object with a type")
    kind = obj.get("type")
    if kind == "FeatureCollection" and level == 0:
        features = obj.get("features")
        if not isinstance(features, list):
            raise _not_geojson(field, "a FeatureCollection has a list of features")
        for i, f in enumerate(features):
            _walk_extent(f, count, f"{field}.features[{i}]", 1)
    elif kind == "Feature" and level <= 1:
        _walk_extent(obj.get("geometry"), count, f"{field}.geometry", 2)
    elif kind == "GeometryCollection" and level <= 2:
        geometries = obj.get("geometries")
        if not isinstance(geometries, list):
            raise _not_geojson(field, "a GeometryCollection has a list of geometries")
        for i, g in enumerate(geometries):
            _walk_extent(g, count, f"{field}.geometries[{i}]", 3)
    elif isinstance(kind, str) and kind in GEOMETRY_TYPES:
        count.coordinates(obj.get("coordinates"), _DEPTH[kind], f"{field}.coordinates")
    else:
        shown = kind if isinstance(kind, str) else type(kind).__name__
        raise _not_geojson(field, f"unknown type {shown[:40]!r}")


def check_extent(extent: Any, limits: Limits = LIMITS) -> None:
    """A flood extent's GeoJSON shape and size, before any geometry is built from it."""
    count = _ExtentCount(limits)
    _walk_extent(extent, count, "flood_extent")
    minx, miny, maxx, maxy = count.box
    span = max(maxx - minx, maxy - miny) if count.vertices else 0.0
    lonlat = minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90
    if span > limits.max_extent_degrees and lonlat:
        raise BadInput(
            f"flood_extent: {span:.1f} degrees across, at most {limits.max_extent_degrees:g}",
            code="extent_too_large",
            field="flood_extent",
            params={"degrees": round(span, 1), "limit": limits.max_extent_degrees},
        )


def check_scenario(data: Any, limits: Limits = LIMITS) -> None:
    """The bounds of a flood scenario's body (a JSON object; other shapes are the route's)."""
    if not isinstance(data, dict):
        return
    name = data.get("name")
    if isinstance(name, str) and len(name) > limits.max_name:
        raise BadInput(
            f"name: {len(name):,} characters, at most {limits.max_name}",
            code="string_too_long",
            field="name",
            params={"length": len(name), "max": limits.max_name},
        )
    if data.get("flood_extent") is not None:
        check_extent(data["flood_extent"], limits)


def check_body(raw: bytes, *, scenario: bool = False, limits: Limits = LIMITS) -> None:
    """All the checks of a JSON body. A body that is not JSON at all is left to the route
    (which answers it as it always did)."""
    try:
        data = parse_json(raw, limits)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return
    if scenario:
        check_scenario(data, limits)
    check_values(data, limits)


#: The codes of this module and the service's other boundary checks, worded by the catalogues.
ERROR_KEYS = (
    N_("error.json_too_deep"),
    N_("error.invalid_unicode"),
    N_("error.nul_character"),
    N_("error.string_too_long"),
    N_("error.number_not_finite"),
    N_("error.number_too_large"),
    N_("error.extent_too_complex"),
    N_("error.extent_too_large"),
    N_("error.unreachable_commune"),
    N_("error.line_too_long"),
)
