"""Coordination regulations (quy chế phối hợp): create, read, edit (a new draft version), sign,
retire; every version kept."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.db import session_scope
from api.deps import CurrentUser, ReadSessionDep, StateDep, WriterDep
from api.documents.regulation import render_regulation_pdf
from api.documents.render import province_title
from api.schemas import MAX_ID, Open, error_responses
from api.services.regulation_drafts import (
    DraftRequest,
    compute_drafts,
    edit_warnings,
    regulation_warnings,
    store_drafts,
)
from api.services.regulations import (
    create_regulation,
    list_regulations,
    regulation_json,
    retire_regulation,
    sign_regulation,
    update_regulation,
    version_json,
    versions_of,
)
from geo import i18n

router = APIRouter(prefix="/regulations", tags=["regulations"])
ERRORS = error_responses(401, 403, 404, 409, 422)


class RegulationOut(Open):
    """A regulation version as CONTRACT.md gives it (``id``, ``number``, ``title``,
    ``parties``, ``status``, ``box_cards``, ``backfill``, ...)."""

    id: int
    version: int
    number: str
    title: str
    parties: list[str]
    status: str


class RegulationChecked(RegulationOut):
    """A regulation version just edited or signed, with what its cards ask beyond a helper's
    spare after its reserve (warnings, never a refusal)."""

    warnings: list[dict[str, Any]] = Field(
        default=[],
        description="``card_over_spare`` problems: ``params`` name the helper, the resource, "
        "what the cards commit (``committed``) and the helper's ``spare``, the level and the "
        "library scenario",
    )


class SignIn(BaseModel):
    """Signing: the date on the paper (default: today in Vietnam)."""

    model_config = ConfigDict(extra="forbid")
    signed_on: dt.date | None = None


@router.get("", response_model=list[RegulationOut], responses=ERRORS)
def read_regulations(user: CurrentUser, session: ReadSessionDep) -> list[dict[str, Any]]:
    """Every regulation's newest version."""
    return list_regulations(session, user)


@router.post("", status_code=201, response_model=RegulationOut, responses=ERRORS)
def create_regulation_route(
    body: Annotated[dict[str, Any], Body()],
    user: CurrentUser,
    state: StateDep,
    writer: WriterDep,
) -> Any:
    """Create a regulation (a draft, version 1); every unknown field is an error."""
    known = set(state.gdf.index)

    def create(s: Any) -> dict[str, Any]:
        reg = create_regulation(s, user, body, G=state.graph, communes=known)
        assert reg.id is not None
        return regulation_json(s, reg.id)

    return writer.run(create, status_code=201)


class DraftIn(BaseModel):
    """The area to draft for: ``{"province": "40"}`` or ``{"communes": [codes]}``."""

    model_config = ConfigDict(extra="forbid")
    province: str | None = Field(None, pattern=r"^\d{1,2}$")
    communes: list[str] | None = None


@router.post("/draft", status_code=201, response_model=list[RegulationOut], responses=ERRORS)
def draft_regulations_route(
    body: DraftIn, user: CurrentUser, state: StateDep, session: ReadSessionDep, writer: WriterDep
) -> Any:
    """Draft the regulations of a province or a list of communes (unsigned drafts replaced)."""
    req = DraftRequest(province=body.province, communes=tuple(body.communes or ()))
    # computed here, in the threadpool, before the one short write transaction
    drafts = compute_drafts(session, user, state.graph, req, lang="vi")
    known = set(state.gdf.index)
    return writer.run(
        lambda s: store_drafts(s, user, drafts, communes=known)["drafts"],
        status_code=201,
    )


PDF_RESPONSES = {
    200: {"description": "the regulation, A4 PDF", "content": {"application/pdf": {}}},
    **error_responses(401, 403, 404, 422),
}


@router.get("/{regulation_id}.pdf", response_class=Response, responses=PDF_RESPONSES)
def read_regulation_pdf(
    request: Request,
    regulation_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    user: CurrentUser,
    state: StateDep,
    lang: Annotated[str | None, Query(pattern=r"^(vi|en)$")] = None,
) -> Response:
    """The regulation's newest version as an A4 PDF, Decree 30/2020 layout (``?lang=en``).

    A plain ``def`` (a worker thread): the session is closed before the layout starts."""
    with session_scope(state.read_session) as s:
        reg = regulation_json(s, regulation_id)
    G = state.graph
    codes = {*reg["parties"], *(c[k] for c in reg["box_cards"] for k in ("from", "to"))}
    codes.update(b[k] for b in reg["backfill"] for k in ("helper", "covered_by"))
    names = {c: str(G.nodes[c].get("full_name", c)) for c in codes if c in G}
    first = reg["parties"][0]
    province = (
        province_title(str(G.nodes[first].get("province_name") or "")) if first in G else None
    )
    # the service records signers as user names; the document's signature blocks are per party
    printed = {k: v for k, v in reg.items() if k != "signers"}
    pdf = render_regulation_pdf(
        printed,
        names=names,
        province=province,
        url=f"{str(request.base_url).rstrip('/')}/planner/regulations/{regulation_id}",
        lang=i18n.language(lang or request.cookies.get("lang")),
    )
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="quy-che-{regulation_id}.pdf"'},
    )


@router.get("/{regulation_id}", response_model=RegulationOut, responses=ERRORS)
def read_regulation(
    regulation_id: int, user: CurrentUser, session: ReadSessionDep
) -> dict[str, Any]:
    """One regulation: its newest version, the version in force and the list of versions."""
    return regulation_json(session, regulation_id)


@router.get("/{regulation_id}/versions", response_model=list[RegulationOut], responses=ERRORS)
def read_regulation_versions(
    regulation_id: int, user: CurrentUser, session: ReadSessionDep
) -> list[dict[str, Any]]:
    """Every version of a regulation, oldest first."""
    return [version_json(v) for v in versions_of(session, regulation_id)]


@router.patch("/{regulation_id}", response_model=RegulationChecked, responses=ERRORS)
def update_regulation_route(
    regulation_id: int,
    body: Annotated[dict[str, Any], Body()],
    user: CurrentUser,
    state: StateDep,
    session: ReadSessionDep,
    writer: WriterDep,
) -> Any:
    """Change a regulation: a new draft version (a signed one stays in force until signed),
    with a warning for each helper its cards ask for more than its spare."""
    known = set(state.gdf.index)
    # checked before the one short write transaction (the check reads the province's library)
    warnings = edit_warnings(session, state.graph, regulation_id, body)

    def update(s: Any) -> dict[str, Any]:
        reg = update_regulation(s, user, regulation_id, body, G=state.graph, communes=known)
        return {**reg, "warnings": warnings}

    return writer.run(update)


@router.post("/{regulation_id}/sign", response_model=RegulationChecked, responses=ERRORS)
def sign_regulation_route(
    regulation_id: int,
    user: CurrentUser,
    state: StateDep,
    session: ReadSessionDep,
    writer: WriterDep,
    body: Annotated[SignIn | None, Body()] = None,
) -> Any:
    """Sign a draft (planner, or the command of every party's area); the signer is recorded.
    Cards beyond a helper's spare are signed all the same, with their warnings."""
    day = body.signed_on if body else None
    warnings = regulation_warnings(session, state.graph, regulation_id)  # before the write

    def sign(s: Any) -> dict[str, Any]:
        return {**sign_regulation(s, user, regulation_id, signed_on=day), "warnings": warnings}

    return writer.run(sign)


@router.post("/{regulation_id}/retire", response_model=RegulationOut, responses=ERRORS)
def retire_regulation_route(regulation_id: int, user: CurrentUser, writer: WriterDep) -> Any:
    """Retire a regulation: its cards no longer fire."""
    return writer.run(lambda s: retire_regulation(s, user, regulation_id))
