"""The planner's settings (:class:`PlanParameters`), the reserve shares and the reserve rule."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geo.plans import PlanError
from geo.rules import DEFAULT_AGREEMENT_FACTOR

#: Who commands at each risk level (Decree 66/2021/NĐ-CP, with the district tier replaced by the
#: regional defence command where the commune belongs to one, else by the province). Configurable.
DEFAULT_COMMANDERS: dict[int, str] = {
    1: "commune",
    2: "region",
    3: "province",
    4: "province",
    5: "national",
}

TIER_NAMES = {
    "commune": "Chủ tịch UBND {commune} (Ban Chỉ huy PTDS xã)",
    "region": "Ban Chỉ huy phòng thủ khu vực {region}",
    "province": "Chủ tịch UBND tỉnh {province} (Ban Chỉ huy PTDS tỉnh)",
    "national": "Ban Chỉ đạo quốc gia về PCTT (Thủ tướng Chính phủ)",
}

#: The reserve share of a resource a mapping does not name (and of every resource by default).
DEFAULT_RESERVE_SHARE = 0.3

#: The key of a reserve-share mapping that sets the share of the resources it does not name.
RESERVE_DEFAULT_KEY = "default"


def reserve_kept(stock: int, share: float) -> int:
    """The reserve a commune keeps at home of a resource it has ``stock`` of: ⌈share × stock⌉.

    The one place the reserve rule (CONTRACT.md, rule 2) is computed; see :func:`sendable`.
    """
    return math.ceil(share * stock - 1e-9)


#: The share of its stock a commune keeps at home when it offers by hand: the planner's default
#: reserve (CONTRACT.md rule 2), so a hand-made offer is judged by the same rule as a plan.
HOME_RESERVE_SHARE = DEFAULT_RESERVE_SHARE


def home_reserve(stock: int, left_at_home: int) -> dict[str, bool | int]:
    """Whether what a commune keeps at home after an offer, ``left_at_home`` of ``stock``
    (stock less every open offer), is below its reserve ⌈r·S⌉ (:func:`reserve_kept`).

    The commune's own use in a flood is not known to a hand-made offer (its leader knows it):
    only the reserve is checked. Returns ``below_reserve``, ``reserve_kept``, ``left_at_home``.
    """
    keep = reserve_kept(stock, HOME_RESERVE_SHARE)
    return {
        "below_reserve": left_at_home < keep,
        "reserve_kept": keep,
        "left_at_home": left_at_home,
    }


def sendable(stock: int, need: int, share: float) -> int:
    """What a commune may send of a resource (CONTRACT.md, rule 2): nothing when it is short
    of it (``need > stock``), else ``S − U − ⌈r·S⌉``: its stock less what it uses itself and,
    on top of that, its reserve (:func:`reserve_kept`). An affected commune's need is an
    estimate in a flood that may still rise, so the reserve is kept above its own use."""
    if need > stock:
        return 0
    return max(0, stock - min(need, stock) - reserve_kept(stock, share))


def reserve_kept_array(stock: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """:func:`reserve_kept` of a (communes × resources) ``stock`` array at per-resource
    ``shares``: the same formula in the same float arithmetic, so the same integers for any
    stock below 2**53."""
    kept: np.ndarray = np.ceil(shares * stock - 1e-9).astype(np.int64)
    return kept


def sendable_array(stock: np.ndarray, need: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """:func:`sendable` of (communes × resources) ``stock`` and ``need`` arrays at
    per-resource ``shares``, element by element (the same integers)."""
    out: np.ndarray = np.maximum(
        0, stock - np.minimum(need, stock) - reserve_kept_array(stock, shares)
    )
    out[need > stock] = 0
    return out


def _share(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise PlanError(
            f"{what} must be a number between 0 and 1, got {value!r}",
            code="share_out_of_range",
            field=what,
            params={"value": repr(value)},
        )
    return float(value)


def check_reserve_share(
    reserve_share: Any, *, catalogue: Collection[str] | None = None
) -> float | dict[str, float]:
    """Validate a reserve share and return it in its plain form.

    Parameters
    ----------
    reserve_share
        One share in [0, 1] for every resource, or a mapping ``{"default": share, resource:
        share, ...}``: the resources it names keep their own share, the others ``"default"``
        (:data:`DEFAULT_RESERVE_SHARE` when the mapping has no ``"default"``).
    catalogue
        The resource keys a mapping may name (:func:`geo.resources.load_catalogue`); None
        checks the shares only.

    Returns
    -------
    float or dict
        The share as a float, or the mapping as ``{"default": share, resource: share, ...}``
        with ``"default"`` always present, first, then the resources in catalogue order (in
        the given order without a catalogue): exactly what a plan uses.

    Raises
    ------
    PlanError
        Naming the item: a share outside [0, 1] or not a number, a key that is no resource.
    """
    if not isinstance(reserve_share, Mapping):
        return _share(reserve_share, "reserve_share")
    out = {
        RESERVE_DEFAULT_KEY: _share(
            reserve_share.get(RESERVE_DEFAULT_KEY, DEFAULT_RESERVE_SHARE),
            f"reserve_share.{RESERVE_DEFAULT_KEY}",
        )
    }
    keys = [k for k in reserve_share if k != RESERVE_DEFAULT_KEY]
    if catalogue is not None:
        known = list(catalogue)
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise PlanError(
                f"reserve_share: unknown resource(s) {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(known)}; {RESERVE_DEFAULT_KEY!r} sets the others)",
                code="unknown_resource",
                field="reserve_share",
                params={"resource": ", ".join(map(str, unknown))},
            )
        keys = [k for k in known if k in reserve_share]
    for key in keys:
        out[str(key)] = _share(reserve_share[key], f"reserve_share.{key}")
    return out


def planning_day(at: dt.date | dt.datetime | None) -> dt.date:
    """The day rules are judged on: ``at``'s date (in its own time zone), today without it."""
    if at is None:
        return dt.date.today()
    return at.date() if isinstance(at, dt.datetime) else at


@dataclass(frozen=True)
class PlanParameters:
    """Planner settings.

    ``reserve_share`` is one share for every resource or ``{"default": share, resource: share}``
    (see :func:`check_reserve_share`; without ``"default"`` the others keep
    :data:`DEFAULT_RESERVE_SHARE`). ``at`` is the date (or instant) on which the rules' validity
    periods are judged: today when None, a past date to replay an event, a future one for an
    exercise.
    """

    max_hops: int = 2
    reserve_share: float | Mapping[str, float] = DEFAULT_RESERVE_SHARE
    agreement_factor: float = DEFAULT_AGREEMENT_FACTOR
    speed_kmh: float = 30.0
    command_chain: tuple[str, ...] = ("commune", "region", "province", "national")
    commanders: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_COMMANDERS))
    tier_names: Mapping[str, str] = field(default_factory=lambda: dict(TIER_NAMES))
    at: dt.date | dt.datetime | None = None

    def reserve_for(self, resource: str) -> float:
        """The reserve share of ``resource``."""
        if isinstance(self.reserve_share, Mapping):
            return float(
                self.reserve_share.get(
                    resource, self.reserve_share.get(RESERVE_DEFAULT_KEY, DEFAULT_RESERVE_SHARE)
                )
            )
        return float(self.reserve_share)

    def sendable(self, resource: str, stock: int, need: int) -> int:
        """What a commune with ``stock`` and ``need`` of ``resource`` may send
        (:func:`sendable` at this resource's reserve share)."""
        return sendable(stock, need, self.reserve_for(resource))

    def check(self, catalogue: Collection[str] | None = None) -> None:
        """Raise :class:`PlanError` naming the first bad setting (reserve keys checked against
        ``catalogue`` when given)."""
        if not isinstance(self.max_hops, int) or self.max_hops < 1:
            raise PlanError(
                f"max_hops must be an integer >= 1, got {self.max_hops!r}",
                code="max_hops_invalid",
                field="max_hops",
                params={"value": repr(self.max_hops)},
            )
        check_reserve_share(self.reserve_share, catalogue=catalogue)
        if self.at is not None and not isinstance(self.at, dt.date):
            raise PlanError(
                f"at must be a date or a datetime, got {self.at!r}",
                code="at_not_a_date",
                field="at",
                params={"value": repr(self.at)},
            )
