"""Adjacency rules — the planners' edits — as data, and the plan graph they give.

Rule types (a JSON/YAML list, or ``{"rules": [...]}``; each rule may carry an ``id``):

- ``agreement``: a coordination regulation between communes ``a`` and ``b`` (``document``,
  ``date``, ``valid_from``/``valid_to``, ``commitments``: ``{code: {resource: quantity}}`` what
  each side commits to the other, ``cap``: limit aid between them to the commitments,
  ``factor``: its travel-cost factor, default the planner's ``agreement_factor``);
- ``add_link``: a bridge, ferry or road between communes whose polygons do not touch (or a
  point-touch pair made usable), with ``travel_minutes`` and ``via``;
- ``close_link``: no crossing, a landslide: permanent, or for ``valid_from``/``valid_to``;
- ``travel_minutes``: the travel time of an existing link (``minutes``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from geo.errors import LienXaError
from geo.resources import load_catalogue

RULE_TYPES = ("agreement", "add_link", "close_link", "travel_minutes")

#: Default road speed between representative points, and the detour over the straight line.
DEFAULT_SPEED_KMH = 30.0
DEFAULT_DETOUR = 1.3
DEFAULT_AGREEMENT_FACTOR = 0.8


class RuleError(LienXaError):
    """A rule is invalid or contradicts another; the message names the rule."""


@dataclass(frozen=True)
class Rule:
    """One adjacency rule (see the module docstring)."""

    type: str
    a: str
    b: str
    id: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    document: str | None = None
    date: dt.date | None = None
    reason: str | None = None
    via: str | None = None
    travel_minutes: float | None = None
    commitments: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    cap: bool = False
    factor: float | None = None
    note: str | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a, self.b) if self.a < self.b else (self.b, self.a)

    @property
    def label(self) -> str:
        return f"rule {self.id}" if self.id else f"{self.type} {self.a}-{self.b}"

    def active(self, at: dt.date | None) -> bool:
        """Whether the rule applies on ``at`` (always, when ``at`` is None and the rule has
        no end date in the past of today)."""
        day = at or dt.date.today()
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def overlaps(self, other: Rule) -> bool:
        lo = max(self.valid_from or dt.date.min, other.valid_from or dt.date.min)
        hi = min(self.valid_to or dt.date.max, other.valid_to or dt.date.max)
        return lo <= hi


def _date(value: Any, what: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise RuleError(f"{what} must be a date YYYY-MM-DD, got {value!r}")


def rule_from_dict(
    data: Mapping[str, Any], *, communes: Collection[str] | None = None, index: int | None = None
) -> Rule:
    """Validate one rule mapping.

    Raises
    ------
    RuleError
        Naming the rule (its id, or its index) and the field.
    """
    label = (
        f"rule {data.get('id')}"
        if isinstance(data, Mapping) and data.get("id") is not None
        else f"rule #{index if index is not None else '?'}"
    )
    if not isinstance(data, Mapping):
        raise RuleError(f"{label}: a rule is an object")
    kind = data.get("type")
    if kind not in RULE_TYPES:
        raise RuleError(f"{label}: type must be one of {', '.join(RULE_TYPES)}, got {kind!r}")
    a, b = data.get("a"), data.get("b")
    if not isinstance(a, str) or not isinstance(b, str):
        raise RuleError(
            f"{label}: a and b must be commune codes as strings, got {a!r} and {b!r} "
            "(in YAML, quote them: a: '17248')"
        )
    if a == b:
        raise RuleError(f"{label}: a link from {a} to itself")
    known = set(communes) if communes is not None else None
    for c in (a, b):
        if known is not None and c not in known:
            raise RuleError(f"{label}: unknown commune {c!r}")
    valid_from = _date(data.get("valid_from"), f"{label}: valid_from")
    valid_to = _date(data.get("valid_to"), f"{label}: valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise RuleError(f"{label}: valid_to {valid_to} is before valid_from {valid_from}")
    minutes = data.get("travel_minutes", data.get("minutes"))
    if kind in ("add_link", "travel_minutes"):
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, (int, float))
            or not math.isfinite(minutes)
            or minutes <= 0
        ):
            raise RuleError(f"{label}: travel_minutes must be a positive number, got {minutes!r}")
        minutes = float(minutes)
    else:
        minutes = None
    commitments: dict[str, dict[str, int]] = {}
    factor = data.get("factor")
    if kind == "agreement":
        catalogue = load_catalogue()
        raw = data.get("commitments") or {}
        if not isinstance(raw, Mapping):
            raise RuleError(f"{label}: commitments must map a commune to {{resource: quantity}}")
        for side, items in raw.items():
            if not isinstance(side, str):
                raise RuleError(
                    f"{label}: commitments name {side!r}: commune codes must be strings "
                    "(in YAML, quote them: '17248': {boats: 4})"
                )
            if side not in (a, b):
                raise RuleError(
                    f"{label}: commitments name {side!r}, which is not a party ({a}, {b})"
                )
            if not isinstance(items, Mapping):
                raise RuleError(f"{label}: commitments of {side} must be {{resource: quantity}}")
            for key, q in items.items():
                if key not in catalogue:
                    raise RuleError(f"{label}: commitments of {side}: unknown resource {key!r}")
                if isinstance(q, bool) or not isinstance(q, int) or q < 0:
                    raise RuleError(
                        f"{label}: commitments of {side}.{key} must be an integer >= 0, got {q!r}"
                    )
            commitments[side] = {k: int(v) for k, v in items.items()}
        if factor is not None and (
            isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor <= 1
        ):
            raise RuleError(f"{label}: factor must be in (0, 1], got {factor!r}")
    return Rule(
        type=kind,
        a=a,
        b=b,
        id=None if data.get("id") is None else str(data["id"]),
        valid_from=valid_from,
        valid_to=valid_to,
        document=data.get("document"),
        date=_date(data.get("date"), f"{label}: date"),
        reason=data.get("reason"),
        via=data.get("via"),
        travel_minutes=minutes,
        commitments=commitments,
        cap=bool(data.get("cap", False)),
        factor=None if factor is None else float(factor),
        note=data.get("note"),
    )


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """A rule as a JSON-ready mapping (round-trips through :func:`rule_from_dict`)."""
    out = {
        k: v
        for k, v in asdict(rule).items()
        if v not in (None, {}, False) or k in ("type", "a", "b")
    }
    for k in ("valid_from", "valid_to", "date"):
        if out.get(k) is not None:
            out[k] = out[k].isoformat()
    if "commitments" in out:
        out["commitments"] = {s: dict(v) for s, v in out["commitments"].items()}
    return out


def parse_rules(data: Any, *, communes: Collection[str] | None = None) -> list[Rule]:
    """Validate a list of rules (or ``{"rules": [...]}``) and check they do not contradict.

    Raises
    ------
    RuleError
        A malformed rule, or two rules that contradict each other over overlapping periods
        (``add_link`` and ``close_link`` on one pair, two ``travel_minutes`` or two
        ``agreement`` rules on one pair, a duplicated id), naming both.
    """
    items = data.get("rules") if isinstance(data, Mapping) else data
    if items is None:
        items = []
    if not isinstance(items, list):
        raise RuleError("rules must be a list")
    rules = [
        rule_from_dict(item, communes=communes, index=i) for i, item in enumerate(items, 1)
    ]  # counted as people count
    ids: dict[str, int] = {}
    for i, r in enumerate(rules, 1):
        if r.id is not None:
            if r.id in ids:
                raise RuleError(f"rule #{i} repeats id {r.id!r} of rule #{ids[r.id]}")
            ids[r.id] = i
    by_pair: dict[tuple[str, str], list[Rule]] = {}
    for r in rules:
        by_pair.setdefault(r.pair, []).append(r)
    clash = {
        ("add_link", "close_link"),
        ("travel_minutes", "travel_minutes"),
        ("agreement", "agreement"),
        ("add_link", "add_link"),
    }
    for pair, group in by_pair.items():
        for i, r in enumerate(group):
            for s in group[i + 1 :]:
                if tuple(sorted((r.type, s.type))) in clash and r.overlaps(s):
                    raise RuleError(
                        f"{r.label} and {s.label} contradict each other on {pair[0]}-{pair[1]} "
                        "over overlapping periods"
                    )
    return rules


def load_rules(
    path: str | os.PathLike[str], *, communes: Collection[str] | None = None
) -> list[Rule]:
    """Read rules from a JSON or YAML file (``.yaml``/``.yml``; see :func:`parse_rules`).

    Parameters
    ----------
    path
        The rules file.
    communes
        Known commune codes; a rule naming another is an error.

    Returns
    -------
    list of Rule

    Raises
    ------
    RuleError
        If the file does not exist, is not valid JSON/YAML, or holds an invalid or
        contradictory rule (named).
    """
    import yaml

    p = Path(path)
    is_yaml = p.suffix.lower() in (".yaml", ".yml")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RuleError(f"rules file {p} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"cannot read rules file {p}: {exc}") from exc
    try:
        data = yaml.safe_load(text) if is_yaml else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise RuleError(f"{p.name} is not valid {'YAML' if is_yaml else 'JSON'}: {exc}") from exc
    return parse_rules(data, communes=communes)


def default_travel_minutes(
    distance_km: float, *, speed_kmh: float = DEFAULT_SPEED_KMH, detour: float = DEFAULT_DETOUR
) -> float:
    """Travel minutes from the distance between representative points."""
    return round(distance_km * detour / speed_kmh * 60.0, 1)


def apply_rules(
    G: nx.Graph,
    rules: Iterable[Rule] = (),
    *,
    at: dt.date | dt.datetime | None = None,
    closed_links: Iterable[tuple[str, str]] = (),
    speed_kmh: float = DEFAULT_SPEED_KMH,
    detour: float = DEFAULT_DETOUR,
    agreement_factor: float = DEFAULT_AGREEMENT_FACTOR,
) -> nx.Graph:
    """The graph a plan uses: open links only, each with its travel time and cost.

    Parameters
    ----------
    G
        The adjacency graph (:func:`geo.adjacency.build_graph`).
    rules
        Planners' rules; only those active on ``at`` apply.
    closed_links
        The scenario's links that cannot be used during the event.
    speed_kmh, detour
        Default travel minutes = ``distance_km × detour / speed_kmh``.
    agreement_factor
        Multiplies the travel cost of a link under an agreement (unless the agreement sets
        its own ``factor``): aid along it is preferred.

    Returns
    -------
    networkx.Graph
        All nodes of ``G`` (with their attributes); edges for usable links only, with
        ``travel_minutes``, ``cost`` (minutes × factor), ``cost_milli`` (the integer cost the
        planner optimises, in thousandths of a minute), ``agreement`` (bool), ``agreement_rule``,
        ``caps`` (``{giver: {resource: quantity}}`` when the agreement caps aid), ``link``
        (``adjacent``, ``near_gap``, or the added link's ``via``), ``rule_ids``.
        ``shared_edge`` and ``near_gap`` links are usable; ``point_touch`` ones only when an
        ``add_link`` rule opens them.

    Raises
    ------
    RuleError
        If a rule names a commune not in ``G``, or ``travel_minutes`` names a pair that is no
        link.
    """
    day = at.date() if isinstance(at, dt.datetime) else at
    H = nx.Graph()
    H.graph.update(G.graph)
    H.add_nodes_from(G.nodes(data=True))
    for u, v, d in G.edges(data=True):
        if d.get("kind") == "point_touch":
            continue
        km = d.get("distance_km", 0.0) or 0.0
        H.add_edge(
            u,
            v,
            travel_minutes=default_travel_minutes(km, speed_kmh=speed_kmh, detour=detour),
            link="near_gap" if d.get("kind") == "near_gap" else "adjacent",
            agreement=False,
            agreement_rule=None,
            factor=1.0,
            caps={},
            rule_ids=[],
            distance_km=km,
        )
    active = [r for r in rules if r.active(day)]
    for r in active:
        for c in (r.a, r.b):
            if c not in G:
                raise RuleError(f"{r.label}: unknown commune {c!r}")
    for r in (r for r in active if r.type == "add_link"):
        km = G.edges[r.a, r.b].get("distance_km", 0.0) if G.has_edge(r.a, r.b) else None
        H.add_edge(
            r.a,
            r.b,
            travel_minutes=float(r.travel_minutes or 0),
            link=r.via or "added",
            agreement=False,
            agreement_rule=None,
            factor=1.0,
            caps={},
            rule_ids=[r.id],
            distance_km=km,
        )
    for r in (r for r in active if r.type == "travel_minutes"):
        if not H.has_edge(r.a, r.b):
            raise RuleError(
                f"{r.label}: {r.a}-{r.b} is not a usable link; add it with add_link first"
            )
        H.edges[r.a, r.b]["travel_minutes"] = float(r.travel_minutes or 0)
        H.edges[r.a, r.b]["rule_ids"].append(r.id)
    for r in (r for r in active if r.type == "agreement"):
        if H.has_edge(r.a, r.b):
            e = H.edges[r.a, r.b]
            e.update(
                agreement=True,
                agreement_rule=r.id or r.document,
                factor=r.factor if r.factor is not None else agreement_factor,
            )
            if r.cap:
                e["caps"] = {side: dict(items) for side, items in r.commitments.items()}
            e["rule_ids"].append(r.id)
    closed = {tuple(sorted(p)) for p in closed_links}
    closed |= {r.pair for r in active if r.type == "close_link"}
    for a, b in closed:
        if H.has_edge(a, b):
            H.remove_edge(a, b)
    for _, _, e in H.edges(data=True):
        e["rule_ids"] = [i for i in e["rule_ids"] if i is not None]
        e["cost"] = e["travel_minutes"] * e["factor"]
        e["cost_milli"] = int(round(e["cost"] * 1000))
    return H
