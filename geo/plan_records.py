"""The plan's settings and cost records (:class:`PlanSettings`, :class:`PlanCost`), re-exported
by :mod:`geo.plans`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geo.errors import Problem


@dataclass(frozen=True)
class PlanSettings:
    """The plan's ``parameters``: the settings used, the reserve shares as applied
    (:func:`geo.plan_settings.check_reserve_share`), ``at`` the day (or instant) the rules
    were judged on, and the scenario's risk level and duration."""

    max_hops: int
    reserve_share: float | dict[str, float]
    agreement_factor: float
    speed_kmh: float
    at: dt.date | dt.datetime | None
    risk_level: int
    duration_days: int
    #: what the plan warns about in its inputs (a displaced count above a suspect population),
    #: when anything: in ``parameters`` so that a plan without warnings keeps its JSON
    warnings: tuple[Problem, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """The settings as plan JSON (``at`` in ISO 8601, absent when None)."""
        out: dict[str, Any] = {
            "max_hops": self.max_hops,
            "reserve_share": (
                dict(self.reserve_share)
                if isinstance(self.reserve_share, Mapping)
                else self.reserve_share
            ),
            "agreement_factor": self.agreement_factor,
            "speed_kmh": self.speed_kmh,
        }
        if self.at is not None:
            out["at"] = self.at.isoformat()
        out["risk_level"] = self.risk_level
        out["duration_days"] = self.duration_days
        if self.warnings is not None:
            out["warnings"] = [w.to_dict() for w in self.warnings]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanSettings:
        """Settings from plan JSON; an ``at`` with a time is read as a datetime."""
        at = data.get("at")
        warnings = data.get("warnings")
        share = data["reserve_share"]
        return cls(
            max_hops=data["max_hops"],
            reserve_share=dict(share) if isinstance(share, Mapping) else share,
            agreement_factor=data["agreement_factor"],
            speed_kmh=data["speed_kmh"],
            at=None if at is None else _instant(at),
            risk_level=data["risk_level"],
            duration_days=data["duration_days"],
            warnings=None if warnings is None else tuple(_problem(w) for w in warnings),
        )


def _problem(data: Mapping[str, Any]) -> Problem:
    return Problem(
        code=data["code"],
        message=data["message"],
        field=data.get("field"),
        params=dict(data.get("params") or {}),
        line=data.get("line"),
    )


def _instant(text: str) -> dt.date | dt.datetime:
    if "T" in text:
        return dt.datetime.fromisoformat(text)
    return dt.date.fromisoformat(text)


@dataclass(frozen=True)
class PlanCost:
    """Total need left unmet and total ``quantity × cost`` of the transfers."""

    unmet_units: int
    transport: float

    def to_json(self) -> dict[str, Any]:
        """The cost as plan JSON."""
        return {"unmet_units": self.unmet_units, "transport": self.transport}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanCost:
        """The cost from plan JSON."""
        return cls(data["unmet_units"], data["transport"])
