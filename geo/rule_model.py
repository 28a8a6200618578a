"""The adjacency rule as a record: its kinds (:class:`RuleType`), :class:`Rule`, its error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from geo.errors import LienXaError


class RuleType(StrEnum):
    """The kinds of adjacency rule (see the module docstring)."""

    AGREEMENT = "agreement"
    ADD_LINK = "add_link"
    CLOSE_LINK = "close_link"
    TRAVEL_MINUTES = "travel_minutes"


RULE_TYPES = tuple(t.value for t in RuleType)

#: Default road speed between representative points, and the detour over the straight line.
DEFAULT_SPEED_KMH = 30.0
DEFAULT_DETOUR = 1.3
DEFAULT_AGREEMENT_FACTOR = 0.8


class RuleError(LienXaError):
    """A rule is invalid or contradicts another; the message names the rule, ``field`` is the
    rule key concerned, ``params["rule"]`` the rule (its id, or ``#position``), and a rule
    read from a list carries one :class:`~geo.errors.Problem` with ``line`` its position."""

    default_code = "rule_invalid"


@dataclass(frozen=True)
class Rule:
    """One adjacency rule (see the module docstring)."""

    type: RuleType
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
