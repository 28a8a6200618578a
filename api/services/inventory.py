"""Communes' inventories: reading, setting a commune's, importing a surveyed file for many.

Stock is never promised twice: ``reserved`` is what open offers hold (see
:mod:`api.services.offers`), and no quantity is set below it.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, require_act_for, require_role
from api.db import locked
from api.enums import Role
from api.errors import BadInput, Conflict, Forbidden
from api.models import InventoryItem, as_utc, utcnow
from api.services import audit
from geo.errors import Problem
from geo.resources import (
    InventoryError,
    load_catalogue,
    read_inventory_csv,
    validate_inventory_items,
)

#: How many problems an answer lists before saying how many more there are.
MAX_LISTED = 50


def _catalogue_order() -> dict[str, int]:
    return {k: i for i, k in enumerate(load_catalogue())}


def inventory_of(session: Session, commune: str) -> dict[str, Any]:
    """A commune's inventory as the API returns it."""
    rows = session.scalars(
        select(InventoryItem)
        .where(InventoryItem.commune_code == commune)
        .order_by(InventoryItem.resource)
    ).all()
    return _inventory_dict(commune, rows)


def _inventory_dict(commune: str, rows: Collection[InventoryItem]) -> dict[str, Any]:
    """``commune``'s inventory as the API returns it, from its stock ``rows``."""
    order = _catalogue_order()
    rows = sorted(rows, key=lambda r: order.get(r.resource, 999))
    stamps = [t for t in (as_utc(r.updated_at) for r in rows) if t is not None]
    return {
        "commune": commune,
        "items": {r.resource: r.quantity for r in rows},
        "reserved": {r.resource: r.reserved for r in rows if r.reserved},
        "available": {r.resource: r.quantity - r.reserved for r in rows},
        "sample": any(r.sample for r in rows),
        "sample_resources": [r.resource for r in rows if r.sample],
        "updated_at": max(stamps, default=None),
    }


def set_inventory(
    session: Session,
    principal: Principal,
    commune: str,
    items: Mapping[str, Any],
    *,
    sample: bool = False,
) -> dict[str, Any]:
    """Set the listed resources of ``commune``'s inventory (others unchanged).

    Raises
    ------
    Forbidden
        Not a leader of that commune nor a defence command over it.
    InventoryError
        Unknown resources, negative or non-integer quantities (nothing is changed).
    Conflict
        ``below_reserved``: a quantity below what open offers already promise (field: the
        resource; params ``resource``, ``quantity``, ``reserved``).
    """
    require_act_for(principal, commune, action="editing an inventory")
    clean = validate_inventory_items(items, catalogue=load_catalogue())
    rows = {  # locked, in (commune, resource) order: the order of api.services.offer_rows
        r.resource: r
        for r in locked(
            session,
            select(InventoryItem)
            .where(InventoryItem.commune_code == commune)
            .order_by(InventoryItem.resource),
        )
    }
    before = _inventory_dict(commune, rows.values())["items"]
    for key, q in clean.items():
        row = rows.get(key)
        if row is None:
            row = rows[key] = InventoryItem(
                commune_code=commune, resource=key, quantity=0, reserved=0
            )
            session.add(row)
        if q < row.reserved:
            raise Conflict(
                f"cannot set {key} to {q}: {row.reserved} are promised in open offers",
                code="below_reserved",
                field=key,
                params={"resource": key, "quantity": q, "reserved": row.reserved},
            )
        row.quantity, row.sample, row.updated_at, row.updated_by = (
            q,
            sample,
            utcnow(),
            principal.username,
        )
    session.flush()
    after = _inventory_dict(commune, rows.values())  # what was just written: no read back
    audit.record(
        session,
        actor=principal.describe_for(commune),
        action="inventory.update",
        entity="inventory",
        entity_id=commune,
        before=before,
        after=after["items"],
    )
    return after


def _listed(items: list[str]) -> str:
    """``items`` joined, cut at ``MAX_LISTED`` with how many more there are."""
    more = len(items) - MAX_LISTED
    return ", ".join(items[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


def _short(message: str, limit: int = 300) -> str:
    """A problem as listed back: a line pasted by mistake (a megabyte of digits) is cut."""
    return message if len(message) <= limit else message[:limit] + "…"


def _short_problem(p: Problem) -> Problem:
    """``p`` with its message and text params cut as :func:`_short` cuts a listed problem."""
    params = {k: _short(v) if isinstance(v, str) else v for k, v in p.params.items()}
    return dataclasses.replace(p, message=_short(p.message), params=params)


def parse_inventory_csv(raw: bytes, *, communes: Collection[str]) -> dict[str, dict[str, int]]:
    """An uploaded inventory file (CONTRACT.md long form, UTF-8) as ``{commune: {resource: q}}``.

    Raises
    ------
    BadInput
        Not UTF-8, no header, or bad lines: ``detail`` is ``{"message", "errors", "more"}``,
        ``errors`` the first ``MAX_LISTED`` problems, each naming its line, ``more`` how many
        were left out. Code ``inventory_invalid`` (params ``count``) with the first
        ``MAX_LISTED`` ``problems`` (a file not UTF-8: one ``not_utf8``, params ``byte``),
        or the code of the file's one error when :mod:`geo.resources` gives one.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = Problem(
            "not_utf8", f"file: not UTF-8 text (byte {exc.start})", params={"byte": exc.start}
        )
        raise BadInput(
            {
                "message": f"file: not UTF-8 text (byte {exc.start}); nothing was imported",
                "errors": [problem.message],
                "more": 0,
            },
            code="inventory_invalid",
            params={"count": 1},
            problems=[problem],
        ) from exc
    _check_line_lengths(text)
    # a file object, never the text itself: one line without a newline would be taken for a path
    try:
        buf = io.StringIO(text)
        buf.name = "file"  # what the messages call it
        return read_inventory_csv(buf, communes=communes)
    except InventoryError as exc:
        errors = [_short(e) for e in exc.errors]
        head = (
            f"{len(errors)} bad line(s), nothing was imported"
            if len(errors) > 1 or errors[0].startswith("line ")
            else f"{errors[0]}; nothing was imported"
        )
        raise BadInput.carrying(
            exc,
            {
                "message": head,
                "errors": errors[:MAX_LISTED],
                "more": max(0, len(errors) - MAX_LISTED),
            },
            code="inventory_invalid",
            params={"count": len(exc.problems) or len(errors)},
            problems=[_short_problem(p) for p in exc.problems[:MAX_LISTED]],
        ) from exc


#: The longest line an inventory file may have (a commune code, a resource key and a number
#: are far shorter; the csv module refuses fields over 131,072 characters with no line number).
#: Shorter bad lines are named with every other bad line of the file.
MAX_LINE = 65_536


def _check_line_lengths(text: str) -> None:
    """Refuse a file with over-long lines, naming them, before any line is parsed."""
    long = [
        (n, len(line))
        for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1)
        if len(line) > MAX_LINE
    ]
    if not long:
        return
    problems = [
        Problem(
            "line_too_long",
            f"line {n}: {size:,} characters, at most {MAX_LINE:,}",
            params={"length": size, "max": MAX_LINE},
            line=n,
        )
        for n, size in long[:MAX_LISTED]
    ]
    errors = [p.message for p in problems]
    raise BadInput(
        {
            "message": f"{len(long)} bad line(s), nothing was imported",
            "errors": errors,
            "more": max(0, len(long) - MAX_LISTED),
        },
        code="inventory_invalid",
        field="file",
        params={"count": len(long)},
        problems=problems,
    )


def _lock_rows(session: Session, communes: list[str]) -> dict[str, dict[str, InventoryItem]]:
    """The stored rows of ``communes`` (sorted), locked so no offer reserves stock meanwhile,
    in ``(commune, resource)`` order (the order of :mod:`api.services.offer_rows`)."""
    rows: dict[str, dict[str, InventoryItem]] = {c: {} for c in communes}
    for k in range(0, len(communes), 500):
        for r in locked(
            session,
            select(InventoryItem)
            .where(InventoryItem.commune_code.in_(communes[k : k + 500]))
            .order_by(InventoryItem.commune_code, InventoryItem.resource),
        ):
            rows[r.commune_code][r.resource] = r
    return rows


def _refuse_outside(principal: Principal, communes: list[str]) -> None:
    """Refuse (``outside_area``) communes outside a defence command's area, all named."""
    outside = [c for c in communes if principal.role != Role.ADMIN and not principal.may_act_for(c)]
    if outside:
        raise Forbidden(
            {
                "message": "importing an inventory file: commune(s) "
                f"{_listed(outside)} outside your area; nothing was imported",
                "communes": outside,
            },
            code="outside_area",
            field="commune",
            params={"communes": outside[:MAX_LISTED], "count": len(outside)},
        )


def _refuse_below_reserved(
    inventory: Mapping[str, Mapping[str, int]], rows: dict[str, dict[str, InventoryItem]]
) -> None:
    """Refuse (``below_reserved``) quantities below what open offers reserve, each named."""
    conflicts = [
        {"commune": c, "resource": key, "quantity": q, "reserved": rows[c][key].reserved}
        for c in sorted(inventory)
        for key, q in inventory[c].items()
        if key in rows[c] and q < rows[c][key].reserved
    ]
    if not conflicts:
        return
    named = [
        f"{x['commune']}/{x['resource']} ({x['quantity']} < {x['reserved']} promised)"
        for x in conflicts
    ]
    raise Conflict(
        {
            "message": "quantities below what open offers reserve: "
            f"{_listed(named)}; nothing was imported",
            "conflicts": conflicts[:MAX_LISTED],
            "more": max(0, len(conflicts) - MAX_LISTED),
        },
        code="below_reserved",
        field="quantity",
        params={"count": len(conflicts)},
        problems=[
            Problem("below_reserved", text, field="quantity", params=x)
            for x, text in zip(conflicts[:MAX_LISTED], named[:MAX_LISTED], strict=True)
        ],
    )


def import_inventory(
    session: Session, principal: Principal, inventory: Mapping[str, Mapping[str, int]]
) -> dict[str, Any]:
    """Store a surveyed inventory (a parsed CSV, :func:`geo.resources.read_inventory_csv`) in
    one transaction: all of it, or nothing.

    Each listed value replaces the stored one and is no longer ``sample``; resources a
    commune's rows do not list keep their quantities and their flag, so an estimate never shows
    as surveyed (the inventory's ``sample_resources`` says which are still estimates). One audit
    entry (before/after) per commune whose values or ``sample`` flags changed.

    Raises
    ------
    Forbidden
        Not a defence command or admin; or ``outside_area``: communes outside the command's
        area (all named).
    Conflict
        ``below_reserved``: quantities below what open offers reserve (each commune and
        resource named, one problem each).
    """
    require_role(principal, Role.DEFENCE_COMMAND, Role.ADMIN, action="importing an inventory file")
    communes = sorted(inventory)
    _refuse_outside(principal, communes)
    rows = _lock_rows(session, communes)
    _refuse_below_reserved(inventory, rows)
    order = _catalogue_order()

    def in_order(items: Mapping[str, int]) -> dict[str, int]:
        return {k: items[k] for k in sorted(items, key=lambda k: order.get(k, 999))}

    changed_values, changed_communes, now = 0, [], utcnow()
    for c in communes:
        have = rows[c]
        before = {
            "items": in_order({k: r.quantity for k, r in have.items()}),
            "sample": any(r.sample for r in have.values()),
        }
        changed = [
            key for key, q in inventory[c].items() if key not in have or have[key].quantity != q
        ]
        surveyed = [key for key in inventory[c] if key in have and have[key].sample]
        if not changed and not surveyed:
            continue
        for key, q in inventory[c].items():
            row = have.get(key)
            if row is None:
                row = have[key] = InventoryItem(
                    commune_code=c, resource=key, quantity=q, reserved=0
                )
                session.add(row)
            if key in changed:
                row.quantity, row.updated_at, row.updated_by = q, now, principal.username
            row.sample = False
        after = {
            "items": in_order({k: r.quantity for k, r in have.items()}),
            "sample": any(r.sample for r in have.values()),
        }
        audit.record(
            session,
            actor=principal.describe_for(c),
            action="inventory.import",
            entity="inventory",
            entity_id=c,
            before=before,
            after=after,
        )
        changed_values += len(changed)
        changed_communes.append(c)
    session.flush()
    return {
        "communes": len(communes),
        "rows": sum(len(v) for v in inventory.values()),
        "changed": changed_values,
        "communes_changed": len(changed_communes),
        "changed_communes": changed_communes,
    }


def available_inventory(session: Session) -> dict[str, dict[str, int]]:
    """Every commune's stock minus what open offers reserve (what a new plan may use)."""
    out: dict[str, dict[str, int]] = {}
    for r in session.scalars(select(InventoryItem)):
        out.setdefault(r.commune_code, {})[r.resource] = max(0, r.quantity - r.reserved)
    return out
