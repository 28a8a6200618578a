"""Inventories in bulk: a surveyed inventory file (CONTRACT.md long-form CSV) for many communes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.auth import require_role
from api.deps import CurrentUser, StateDep, WriterDep
from api.enums import Role
from api.errors import BadInput
from api.schemas import InventoryImportOut, error_responses
from api.services.inventory import import_inventory, parse_inventory_csv

router = APIRouter(prefix="/inventory", tags=["inventory"])

CSV_EXAMPLE = "commune,resource,quantity\n17248,militia,450\n17248,boats,6\n"


async def csv_from(request: Request) -> bytes:
    """The file's bytes: the multipart field ``file``, or the whole body (``text/csv``)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadInput(
                "file: upload the inventory CSV as the form field 'file'",
                code="file_required",
                field="file",
            )
        return await upload.read()
    return await request.body()


@router.post(
    "/import",
    response_model=InventoryImportOut,
    responses=error_responses(401, 403, 409, 413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    },
)
async def import_inventory_file(
    request: Request, state: StateDep, user: CurrentUser, writer: WriterDep
) -> Any:
    """Import a surveyed inventory file (CSV ``commune,resource,quantity``): all of it or nothing.

    For a defence command (communes of its area) or an admin. The body is the CSV itself
    (``text/csv``) or a multipart upload in the field ``file``, up to the service's upload
    limit (413 beyond). Each listed value replaces the stored one and is no longer flagged
    ``sample`` (values the file does not list keep their flag, see ``sample_resources``); one
    audit entry per commune changed. Nothing is written when:

    - a line is bad (unknown commune or resource, negative, non-integer or too large quantity,
      duplicate row; or no header): 422, ``detail.errors`` naming the lines (the first 50,
      ``detail.more`` says how many more);
    - a commune is outside the caller's area: 403, ``detail.communes`` names them;
    - a quantity is below what open offers reserve: 409, ``detail.conflicts`` names commune
      and resource.

    With an ``Idempotency-Key`` header a repeat returns the first answer and imports nothing.
    """
    require_role(user, Role.DEFENCE_COMMAND, Role.ADMIN, action="importing an inventory file")
    raw = await csv_from(request)
    inventory = await run_in_threadpool(parse_inventory_csv, raw, communes=state.graph)
    return await run_in_threadpool(writer.run, lambda s: import_inventory(s, user, inventory))
