"""The mutual-aid plan as typed records that serialise to exactly the plan JSON of CONTRACT.md.

A :class:`Plan` holds its rows (:class:`Transfer`, :class:`LedgerRow`, :class:`UnmetRow`,
:class:`CommandRow`), its :class:`PlanSettings` (``parameters``) and :class:`PlanCost`, plus the
optional parts the service and the command line record with it (``id``, ``incident_id``,
``covered_by_offers``, ``created_requests``, ``already_requested``, ``sample_inventory``): an
optional part left at ``None`` is absent from the JSON. ``Plan.from_json(plan.to_json())`` is
``plan``, and ``Plan.from_json(data).to_json()`` is ``data`` for every plan the planner writes
(keys in the same order).

Values are not coerced when read: a plan read from JSON keeps what it holds, so that
:func:`geo.plan_check.validate_plan` can report a wrong one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, TypeVar

from geo.errors import LienXaError
from geo.plan_records import PlanCost, PlanSettings

__all__ = [
    "CommandRow",
    "LedgerRow",
    "Plan",
    "PlanCost",
    "PlanError",
    "PlanSettings",
    "QuantityRow",
    "Transfer",
    "UnmetRow",
    "as_plan",
]

T = TypeVar("T")
R = TypeVar("R", bound=type)


def _quick_init(cls: R) -> R:
    """Give a frozen dataclass of plain fields an ``__init__`` that fills the instance's
    ``__dict__`` in one step instead of one ``object.__setattr__`` per field: the same
    signature, defaults and result (still frozen), at about half the cost. A nationwide plan
    makes ~80,000 rows, and the generated ``__init__`` was a tenth of its CPU."""
    own = fields(cls)
    if any(f.default_factory is not MISSING or not f.init for f in own):
        raise TypeError(f"{cls.__name__}: _quick_init takes plain fields only")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: _quick_init takes no __post_init__")
    names = [f.name for f in own]
    args = ", ".join(f.name if f.default is MISSING else f"{f.name}=_d_{f.name}" for f in own)
    body = ", ".join(f"{n!r}: {n}" for n in names)
    scope: dict[str, Any] = {"_set": object.__setattr__}
    scope.update({f"_d_{f.name}": f.default for f in own if f.default is not MISSING})
    exec(f"def __init__(self, {args}):\n    _set(self, '__dict__', {{{body}}})", scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = vars(cls)["__init__"].__doc__
    cls.__init__ = init  # type: ignore[misc]
    return cls


class PlanError(LienXaError):
    """A plan cannot be computed as asked, or a plan's JSON is malformed."""

    default_code = "plan_invalid"


def _rows(
    data: Mapping[str, Any], key: str, read: Callable[[Mapping[str, Any]], T]
) -> tuple[T, ...]:
    return tuple(read(row) for row in data[key])


@_quick_init
@dataclass(frozen=True)
class Transfer:
    """One transfer: ``quantity`` of ``resource`` from ``giver`` (JSON ``from``) to
    ``receiver`` (JSON ``to``) along ``path`` (giver first), its ``travel_minutes``, its
    optimised ``cost`` (minutes weighted by the agreement factor), whether it runs along an
    agreement link and which agreements."""

    giver: str
    receiver: str
    resource: str
    quantity: int
    path: tuple[str, ...]
    travel_minutes: float
    cost: float
    agreement: bool
    agreement_rules: tuple[str, ...] = ()
    #: ``"relief"`` or ``"recovery"`` in a plan with a recovery phase (None: relief only)
    phase: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The transfer as plan JSON (``phase`` only when set)."""
        out = {
            "from": self.giver,
            "to": self.receiver,
            "resource": self.resource,
            "quantity": self.quantity,
            "path": list(self.path),
            "travel_minutes": self.travel_minutes,
            "cost": self.cost,
            "agreement": self.agreement,
            "agreement_rules": list(self.agreement_rules),
        }
        return _with_phase(out, self.phase)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transfer:
        """A transfer from plan JSON (see :meth:`to_json`)."""
        return cls(
            giver=data["from"],
            receiver=data["to"],
            resource=data["resource"],
            quantity=data["quantity"],
            path=tuple(data["path"]),
            travel_minutes=data["travel_minutes"],
            cost=data["cost"],
            agreement=data["agreement"],
            agreement_rules=tuple(data["agreement_rules"]),
            phase=data.get("phase"),
        )


@_quick_init
@dataclass(frozen=True)
class LedgerRow:
    """What an affected commune needs of a resource and how it is met: ``need = on_site +
    received + unmet``; ``sent`` what it gives, ``stock`` and ``reserve`` what it has and keeps."""

    commune: str
    resource: str
    need: int
    on_site: int
    received: int
    sent: int
    unmet: int
    stock: int
    reserve: int
    #: the need's phase, ``"relief"`` or ``"recovery"``, in a plan with a recovery phase
    phase: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The row as plan JSON (``phase`` only when set)."""
        out = {
            "commune": self.commune,
            "resource": self.resource,
            "need": self.need,
            "on_site": self.on_site,
            "received": self.received,
            "sent": self.sent,
            "unmet": self.unmet,
            "stock": self.stock,
            "reserve": self.reserve,
        }
        return _with_phase(out, self.phase)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LedgerRow:
        """A ledger row from plan JSON."""
        return cls(**{key: data[key] for key in _LEDGER_KEYS}, phase=data.get("phase"))


def _with_phase(out: dict[str, Any], phase: str | None) -> dict[str, Any]:
    if phase is not None:
        out["phase"] = phase
    return out


_LEDGER_KEYS = (
    "commune",
    "resource",
    "need",
    "on_site",
    "received",
    "sent",
    "unmet",
    "stock",
    "reserve",
)


@_quick_init
@dataclass(frozen=True)
class UnmetRow:
    """A need no reachable commune covers, and the body it escalates to."""

    commune: str
    resource: str
    quantity: int
    escalate_to: str | None
    #: True for a fully isolated commune: the need is to come by air or boat
    isolated: bool | None = None
    phase: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The row as plan JSON (``isolated`` and ``phase`` only when set)."""
        out: dict[str, Any] = {
            "commune": self.commune,
            "resource": self.resource,
            "quantity": self.quantity,
            "escalate_to": self.escalate_to,
        }
        if self.isolated is not None:
            out["isolated"] = self.isolated
        return _with_phase(out, self.phase)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UnmetRow:
        """An unmet row from plan JSON (``escalate_to`` None when absent)."""
        return cls(
            data["commune"],
            data["resource"],
            data["quantity"],
            data.get("escalate_to"),
            isolated=data.get("isolated"),
            phase=data.get("phase"),
        )


@dataclass(frozen=True)
class CommandRow:
    """Who commands an affected commune at the incident's risk level."""

    commune: str
    risk_level: int
    tier: str
    commander: str

    def to_json(self) -> dict[str, Any]:
        """The row as plan JSON."""
        return {
            "commune": self.commune,
            "risk_level": self.risk_level,
            "tier": self.tier,
            "commander": self.commander,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CommandRow:
        """A command row from plan JSON."""
        return cls(data["commune"], data["risk_level"], data["tier"], data["commander"])


@dataclass(frozen=True)
class QuantityRow:
    """A quantity of a resource for a commune (``covered_by_offers``, ``already_requested``)."""

    commune: str
    resource: str
    quantity: int

    def to_json(self) -> dict[str, Any]:
        """The row as plan JSON."""
        return {"commune": self.commune, "resource": self.resource, "quantity": self.quantity}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuantityRow:
        """A row from plan JSON."""
        return cls(data["commune"], data["resource"], data["quantity"])


@dataclass(frozen=True)
class Plan:
    """A mutual-aid plan (the plan JSON of CONTRACT.md, plus ``method``, ``command`` and the
    optional parts recorded by the service and the command line)."""

    scenario: str
    method: str
    parameters: PlanSettings
    transfers: tuple[Transfer, ...]
    ledger: tuple[LedgerRow, ...]
    unmet: tuple[UnmetRow, ...]
    command: tuple[CommandRow, ...]
    cost: PlanCost
    #: the stored plan's id and its incident (service)
    id: int | None = None
    incident_id: int | None = None
    #: what offers already covered, taken off the needs before planning (service)
    covered_by_offers: tuple[QuantityRow, ...] | None = None
    #: the requests the plan created, and what open requests already asked (service)
    created_requests: tuple[int, ...] | None = None
    already_requested: tuple[QuantityRow, ...] | None = None
    #: whether the inventory was generated sample data (command line)
    sample_inventory: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON (optional parts only when set)."""
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        if self.incident_id is not None:
            out["incident_id"] = self.incident_id
        out.update(
            scenario=self.scenario,
            method=self.method,
            parameters=self.parameters.to_json(),
            transfers=[t.to_json() for t in self.transfers],
            ledger=[row.to_json() for row in self.ledger],
            unmet=[row.to_json() for row in self.unmet],
            command=[row.to_json() for row in self.command],
            cost=self.cost.to_json(),
        )
        if self.covered_by_offers is not None:
            out["covered_by_offers"] = [row.to_json() for row in self.covered_by_offers]
        if self.created_requests is not None:
            out["created_requests"] = list(self.created_requests)
        if self.already_requested is not None:
            out["already_requested"] = [row.to_json() for row in self.already_requested]
        if self.sample_inventory is not None:
            out["sample_inventory"] = self.sample_inventory
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        """A plan from its JSON (see :meth:`to_json`).

        Raises
        ------
        PlanError
            If a part of the plan is missing or not of the expected shape.
        """
        try:
            return cls._from_json(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PlanError(
                f"not a plan: {exc!r} in its JSON",
                code="plan_json_invalid",
                params={"detail": repr(exc)},
            ) from exc

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Plan:
        covered = data.get("covered_by_offers")
        created = data.get("created_requests")
        already = data.get("already_requested")
        return cls(
            scenario=data["scenario"],
            method=data["method"],
            parameters=PlanSettings.from_json(data["parameters"]),
            transfers=_rows(data, "transfers", Transfer.from_json),
            ledger=_rows(data, "ledger", LedgerRow.from_json),
            unmet=_rows(data, "unmet", UnmetRow.from_json),
            command=_rows(data, "command", CommandRow.from_json),
            cost=PlanCost.from_json(data["cost"]),
            id=data.get("id"),
            incident_id=data.get("incident_id"),
            covered_by_offers=None
            if covered is None
            else _rows(data, "covered_by_offers", QuantityRow.from_json),
            created_requests=None if created is None else tuple(created),
            already_requested=None
            if already is None
            else _rows(data, "already_requested", QuantityRow.from_json),
            sample_inventory=data.get("sample_inventory"),
        )


def as_plan(plan: Plan | Mapping[str, Any]) -> Plan:
    """``plan`` itself, or the :class:`Plan` its JSON holds.

    Raises
    ------
    PlanError
        If the JSON is not a plan.
    """
    return plan if isinstance(plan, Plan) else Plan.from_json(plan)
