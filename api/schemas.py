"""Request and response bodies of the HTTP API (names per CONTRACT.md; extra fields allowed)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from api.enums import IncidentStatus, OfferStatus, RequestStatus, Role, Urgency

Code = Field(pattern=r"^\d{5}$", description="5-digit commune code")

#: The largest id any table holds (32-bit integer columns on PostgreSQL).
MAX_ID = 2**31 - 1


def _no_nul(value: str | None) -> str | None:
    """PostgreSQL text cannot hold a NUL character (and no person types one)."""
    if value is not None and "\x00" in value:
        raise ValueError("a NUL character is not allowed")
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    """Stored times are UTC; SQLite gives them back without a zone: say so on the way out."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _json_integer(value: Any) -> Any:
    """A count or id is a JSON number: the text ``"12"`` is refused (``int_type``); other text
    goes on to pydantic, which refuses it as ``int_parsing``."""
    if isinstance(value, str):
        try:
            int(value)
        except ValueError:
            return value
        raise PydanticCustomError("int_type", "Input should be a JSON integer, not text")
    return value


#: Free text: no NUL character, at most 2000 characters (a note, a reason).
Text = Annotated[str, Field(max_length=2000), AfterValidator(_no_nul)]


def _utc_text(value: dt.datetime) -> str:
    """A time in JSON: UTC, to the microsecond, always as many digits (pydantic's own format
    drops the fraction of a time on a whole second, and ``...:05Z`` then sorts as text after
    ``...:05.007Z``, which it precedes)."""
    return _utc(value).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: A time always serialised with its time zone, in UTC, to the microsecond: in JSON, times
#: sort as text as they sort as times.
UtcTime = Annotated[
    dt.datetime,
    AfterValidator(_utc),
    PlainSerializer(_utc_text, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
#: An id as a request carries it: a positive JSON integer that a table can hold.
IdIn = Annotated[int, BeforeValidator(_json_integer), Field(ge=1, le=MAX_ID)]
#: A quantity as a request carries it: a JSON integer (never the text "12").
Quantity = Annotated[int, BeforeValidator(_json_integer), Field(gt=0, le=10_000_000)]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    role: Role
    commune: str | None = None


class ProblemOut(BaseModel):
    """One thing wrong in an input (see :class:`geo.errors.Problem`)."""

    code: str
    message: str
    field: str | None = None
    params: dict[str, Any] = {}
    line: int | None = Field(None, description="the file line, or the rule's position from 1")


class Detail(BaseModel):
    """An error: the English ``detail`` and what every surface words it from."""

    detail: Any = Field(description="the English message (or an object holding one)")
    code: str = Field(description="stable key, e.g. over_offer; its wording is error.<code>")
    field: str | None = Field(None, description="the input the error concerns")
    params: dict[str, Any] = Field({}, description="the values its wording needs")
    problems: list[ProblemOut] | None = Field(None, description="when it lists several")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route can answer, each a :class:`Detail`."""
    return {code: {"model": Detail} for code in codes}


class InventoryOut(Open):
    commune: str
    items: dict[str, int]
    sample: bool
    sample_resources: list[str] = Field(
        default=[], description="resources whose quantity is still a generated estimate"
    )
    updated_at: UtcTime | None = None
    reserved: dict[str, int] = {}
    available: dict[str, int] = {}


class IncidentOut(Open):
    id: int
    name: str
    status: IncidentStatus
    risk_level: int
    affected: list[str]
    scenario: dict[str, Any]
    created_by: str
    created_at: UtcTime
    updated_at: UtcTime | None = None
    #: false while a commune's report waits for the command to confirm its level
    confirmed: bool = True


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: IdIn
    commune: str = Code
    resource: str = Field(max_length=64)
    quantity: Quantity
    to: list[Annotated[str, Field(max_length=16)]] | None = Field(None, max_length=200)
    urgency: Urgency = Urgency.NORMAL
    note: Text | None = None


class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    commune: str = Code
    quantity: Quantity
    note: Text | None = None
    #: ``false``: refuse (409 ``below_home_reserve``) an offer that would leave less than the home
    #: reserve, so the client can ask its user; ``true``: the user confirmed; absent: go ahead.
    confirm_below_reserve: bool | None = None


class ReasonIn(BaseModel):
    reason: Text | None = None


class OfferOut(Open):
    id: int
    request_id: int
    commune: str
    quantity: int
    status: OfferStatus


class OfferCreatedOut(OfferOut):
    """A new offer, with what it leaves at the giver's home against its reserve."""

    below_reserve: bool
    reserve_kept: int
    left_at_home: int


class AskOut(Open):
    """What a plan asks of one addressee of a request."""

    commune: str
    quantity: int


class RequestOut(Open):
    id: int
    incident_id: int
    commune: str
    resource: str
    quantity: int
    status: RequestStatus
    to: list[str]
    urgency: Urgency
    offered: int
    remaining: int
    offers: list[OfferOut]
    asks: list[AskOut] = []
    outdated: bool = False


class PlanOut(Open):
    scenario: str
    parameters: dict[str, Any]
    transfers: list[dict[str, Any]]
    ledger: list[dict[str, Any]]
    unmet: list[dict[str, Any]]
    cost: dict[str, Any]


Share = Annotated[float, Field(ge=0, le=1)]


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_hops: int = Field(2, ge=1, le=6)
    reserve_share: Share | dict[str, Share] = Field(
        0.3,
        description="The share of its stock a commune keeps and never sends: one share for "
        'every resource, or per resource, `{"default": 0.3, "boats": 0.5}` (keys from the '
        "resource catalogue; "
        "`default`, 0.3 when absent, for the resources not named). The plan's "
        "`parameters.reserve_share` shows the shares used.",
        examples=[0.3, {"default": 0.3, "boats": 0.5, "militia": 0.2}],
    )
    agreement_factor: float = Field(0.8, gt=0, le=1)
    create_requests: bool = False

    @field_validator("reserve_share", mode="before")
    @classmethod
    def _known_resources(cls, value: Any) -> Any:
        """Shares in [0, 1], keys from the catalogue in use; the error names the key."""
        from geo.planning import PlanError, check_reserve_share
        from geo.resources import load_catalogue

        try:
            return check_reserve_share(value, catalogue=load_catalogue())
        except PlanError as exc:
            raise ValueError(str(exc)) from None


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    reason: Text = Field(min_length=1, description="why: kept in the rule's history")
    rule: dict[str, Any] = Field(description="the rule: type, a, b, and its fields (see geo.rules)")


class RulePatch(BaseModel):
    reason: Text = Field(min_length=1)
    changes: dict[str, Any]


class RuleVersionOut(Open):
    id: int
    version: int
    rule: dict[str, Any]
    retired: bool
    author: str
    reason: str
    created_at: UtcTime


class RegionIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_no_nul)]
    communes: list[Annotated[str, Field(max_length=16)]] = Field(max_length=20_000)


class RegionOut(Open):
    id: int
    name: str
    communes: list[str]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    commune: str | None = Field(None, pattern=r"^\d{5}$")
    region: str | None = Field(None, max_length=128)
    province: str | None = Field(None, pattern=r"^\d{2}$")
    phone: str | None = Field(None, max_length=32)


class UserOut(Open):
    id: int
    username: str
    role: Role
    commune: str | None = None
    region: str | None = None
    province: str | None = None
    phone: str | None = None


class AuditOut(Open):
    id: int
    at: str
    actor: str
    action: str
    entity: str
    entity_id: str
    hash: str


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    message: str


class LedgerEntryOut(Open):
    commune: str
    resource: str
    quantity: int
    from_: str = Field(alias="from")
    offer_id: int
    at: UtcTime


class InventoryImportOut(BaseModel):
    """What an inventory file import did (all of the file, or nothing)."""

    communes: int = Field(description="communes listed in the file")
    rows: int = Field(description="rows (commune, resource) in the file")
    changed: int = Field(description="values that differ from what was stored")
    communes_changed: int = Field(
        description="communes whose values or sample flag changed (one audit entry each)"
    )
    changed_communes: list[str] = Field(description="their codes")


#: A count a report carries: a JSON integer (its bounds are the scenario's, checked in geo/).
Count = Annotated[int, BeforeValidator(_json_integer)]


class ReportIn(BaseModel):
    """A commune's situation report (CONTRACT.md, second round)."""

    model_config = ConfigDict(extra="forbid")
    commune: str = Field(max_length=16)
    displaced: Count = 0
    houses_flooded: Count = 0
    houses_collapsed: Count = 0
    isolated: str | None = Field(default=None, max_length=16)
    needs: dict[str, Any] = Field(default_factory=dict, max_length=64)
    note: Text | None = None


class ReportOut(Open):
    id: int
    incident_id: int
    commune: str
    displaced: int
    houses_flooded: int
    houses_collapsed: int
    isolated: str | None
    needs: dict[str, int]
    note: str | None
    warnings: list[dict[str, Any]] = Field(
        default=[], description="e.g. more displaced than a population flagged suspect"
    )
    created_by: str
    created_at: UtcTime


class IncidentPatch(BaseModel):
    """The command confirms an incident a commune reported, and may correct its risk level."""

    model_config = ConfigDict(extra="forbid")
    risk_level: Count | None = None
    confirmed: bool | None = None
