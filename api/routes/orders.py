"""Printed orders: the A4 order sheet of one commune in one incident (Decree 30/2020 layout)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.db import session_scope
from api.deps import CurrentUser, StateDep
from api.documents.orders import OrderSheet, render_order_pdf
from api.documents.render import province_title
from api.schemas import MAX_ID, error_responses
from api.services.orders import order_sheet
from geo import i18n

router = APIRouter(prefix="/incidents", tags=["orders"])
RESPONSES = {
    200: {"description": "the order sheet, A4 PDF", "content": {"application/pdf": {}}},
    **error_responses(401, 403, 404, 422),
}


def sheet_communes(sheet: OrderSheet) -> set[str]:
    """Every commune the sheet names (its own, the other ends, the routes' communes)."""
    codes = {sheet.commune}
    for line in (*sheet.receives, *sheet.sends):
        codes.add(line.other)
        codes.update(line.path)
    for r in sheet.requests:
        codes.update(r.others)
    return codes


@router.get("/{incident_id}/orders/{code}.pdf", response_class=Response, responses=RESPONSES)
def read_orders_pdf(
    request: Request,
    incident_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    code: Annotated[str, Path(pattern=r"^\d{5}$")],
    state: StateDep,
    user: CurrentUser,
    lang: Annotated[str | None, Query(pattern=r"^(vi|en)$")] = None,
) -> Response:
    """The order sheet of one commune in an incident, as an A4 PDF (``?lang=en`` in English).

    A plain ``def``: FastAPI runs it in a worker thread, so the layout (CPU-bound, bounded by
    :mod:`api.documents.render`) never blocks the event loop; the read session is closed before
    the layout starts."""
    url = f"{str(request.base_url).rstrip('/')}/commune?code={code}&incident={incident_id}"
    with session_scope(state.read_session) as s:
        sheet = order_sheet(s, user, incident_id, code, state.graph, url=url)
    G = state.graph
    names = {c: str(G.nodes[c].get("full_name", c)) for c in sheet_communes(sheet) if c in G}
    node = G.nodes[code]
    province = province_title(str(node.get("province_name") or ""))
    pdf = render_order_pdf(
        sheet,
        names=names,
        province=province,
        lang=i18n.language(lang or request.cookies.get("lang")),
    )
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="lenh-{incident_id}-{code}.pdf"'},
    )
