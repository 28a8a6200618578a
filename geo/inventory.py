"""Inventories: the long-form CSV (``commune,resource,quantity``) and ``{resource: quantity}``
mappings, checked item by item with a code for every problem."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from geo.catalogue import Resource, load_catalogue
from geo.errors import LienXaError, Problem

MAX_QUANTITY = 2**31 - 1  # the largest quantity a database integer column holds
SAMPLE_LABEL = "SAMPLE DATA (generated from population and area, not a survey)"


class InventoryError(LienXaError):
    """An inventory is invalid; ``errors`` lists every problem as English text (with its line
    for files), ``problems`` the same problems with their codes (:class:`geo.errors.Problem`,
    ``line`` set for files)."""

    default_code = "inventory_invalid"

    def __init__(
        self,
        message: str,
        errors: list[str] | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
        params: Mapping[str, Any] | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        self.errors = list(errors or [message])
        super().__init__(message, code=code, field=field, params=params, problems=problems)

    @classmethod
    def single(cls, problem: Problem) -> InventoryError:
        """The error of a whole file that has one problem (its code is the error's)."""
        return cls(
            problem.message,
            code=problem.code,
            field=problem.field,
            params=problem.params,
            problems=[problem],
        )


def _quantity_problem(raw: Any, q: int | None, *, resource: str | None = None) -> Problem | None:
    """The problem of a quantity (:func:`_as_quantity` of ``raw`` is ``q``), if any; the
    message leaves out the ``resource`` (the caller prefixes it)."""
    extra = {} if resource is None else {"resource": resource}
    if q is None:
        return Problem(
            "quantity_not_integer",
            f"quantity must be a non-negative integer, got {raw!r}",
            field="quantity",
            params={"value": str(raw), **extra},
        )
    if q > MAX_QUANTITY:
        return Problem(
            "quantity_too_large",
            f"quantity {q} is over the largest storable, {MAX_QUANTITY}",
            field="quantity",
            params={"quantity": q, "max": MAX_QUANTITY, **extra},
        )
    return None


def _unknown_resource(key: str) -> Problem:
    return Problem(
        "unknown_resource",
        f"unknown resource {key!r}",
        field="resource",
        params={"resource": str(key)},
    )


def validate_inventory_items(
    items: Mapping[str, Any], *, catalogue: Mapping[str, Resource] | None = None
) -> dict[str, int]:
    """Check a ``{resource: quantity}`` mapping (an API body) and return it with int values.

    Raises
    ------
    InventoryError
        Naming every unknown resource and every negative, non-integer or too large
        (over ``MAX_QUANTITY``) quantity: code ``inventory_invalid`` {count}, one
        :class:`~geo.errors.Problem` per item (``unknown_resource``, ``quantity_not_integer``,
        ``quantity_too_large``, with the item's ``resource`` in their params).
    """
    catalogue = catalogue or load_catalogue()
    problems: list[Problem] = []
    out: dict[str, int] = {}
    for key, value in items.items():
        if key not in catalogue:
            problems.append(_unknown_resource(key))
            continue
        q = _as_quantity(value)
        problem = _quantity_problem(value, q, resource=key)
        if problem is not None:
            problems.append(
                Problem(problem.code, f"{key}: {problem.message}", problem.field, problem.params)
            )
        elif q is not None:
            out[key] = q
    if problems:
        errors = [p.message for p in problems]
        raise InventoryError(
            "; ".join(errors),
            errors,
            code="inventory_invalid",
            params={"count": len(problems)},
            problems=problems,
        )
    return out


def _as_quantity(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value) if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        try:  # ASCII only: "²" is a digit to isdigit() but not to int()
            return int(value.strip())
        except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
            return None
    return None


def _inventory_text(source: str | os.PathLike[str] | TextIO) -> tuple[str, str]:
    """The CSV text of ``source`` and the name the messages call it."""
    if not isinstance(source, (str, os.PathLike)):
        return source.read(), getattr(source, "name", "inventory")
    if isinstance(source, str) and "\n" in source:
        return source, "inventory"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8-sig"), path.name
    except FileNotFoundError as exc:
        raise InventoryError.single(
            Problem(
                "file_not_found",
                f"inventory file {path} does not exist",
                params={"path": str(path)},
            )
        ) from exc
    except UnicodeDecodeError as exc:
        raise InventoryError.single(
            Problem(
                "not_utf8",
                f"{path}: not UTF-8 text ({exc})",
                params={"byte": f"0x{exc.object[exc.start]:02x}", "position": exc.start},
            )
        ) from exc


def _check_header(name: str, lines: list[tuple[int, str]]) -> None:
    if not lines:
        raise InventoryError.single(
            Problem(
                "empty_inventory",
                f"{name}: empty inventory (header commune,resource,quantity expected)",
            )
        )
    header_no, header = lines[0]
    cols = [c.strip().lower() for c in next(csv.reader([header]))]
    if cols[:3] != ["commune", "resource", "quantity"]:
        raise InventoryError.single(
            Problem(
                "bad_header",
                f"{name} line {header_no}: header must be commune,resource,quantity, "
                f"got {header!r}",
                field="header",
                params={"header": header},
                line=header_no,
            )
        )


def _row_problems(
    row: list[str],
    known: Collection[str],
    catalogue: Mapping[str, Resource],
    seen: dict[tuple[str, str], int],
    n: int,
) -> tuple[str, str, int | None, list[Problem]]:
    """The commune, resource and quantity of a data row (line ``n``), and its problems."""
    commune, resource, raw = (c.strip() for c in row[:3])
    if commune.isdigit() and len(commune) < 5:
        commune = commune.zfill(5)
    problems = []
    if commune not in known:
        problems.append(
            Problem(
                "unknown_commune",
                f"unknown commune {commune!r}",
                field="commune",
                params={"commune": commune},
            )
        )
    if resource not in catalogue:
        problems.append(_unknown_resource(resource))
    q = _as_quantity(raw)
    problem = _quantity_problem(raw, q)
    if problem is not None:
        problems.append(problem)
    first = seen.setdefault((commune, resource), n)
    if first != n:
        problems.append(
            Problem(
                "duplicate_row",
                f"duplicate row for {commune}/{resource} (first on line {first})",
                params={"commune": commune, "resource": resource, "first_line": first},
            )
        )
    return commune, resource, q, [dataclasses.replace(p, line=n) for p in problems]


def read_inventory_csv(
    source: str | os.PathLike[str] | TextIO,
    *,
    communes: Collection[str],
    catalogue: Mapping[str, Resource] | None = None,
) -> dict[str, dict[str, int]]:
    """Read a long-form inventory CSV (``commune,resource,quantity``).

    ``source`` is a path, a file object, or the CSV text itself (when it contains a newline).
    Lines starting with ``#`` are comments (the sample generator labels its files that way).

    Raises
    ------
    InventoryError
        Listing every bad line (unknown commune or resource, negative, non-integer or too large
        quantity, duplicate row, missing header); nothing is returned from a file with errors.
        Its ``errors`` has one text per bad line, its ``problems`` one
        :class:`~geo.errors.Problem` per problem with its ``line``: code ``inventory_invalid``
        {count} (the number of bad lines) with problems ``unknown_commune`` {commune},
        ``unknown_resource`` {resource}, ``quantity_not_integer`` {value},
        ``quantity_too_large`` {quantity, max}, ``duplicate_row`` {commune, resource,
        first_line}, ``wrong_field_count`` {count}; or a whole-file error of one problem:
        ``file_not_found`` {path}, ``not_utf8`` {byte}, ``empty_inventory``, ``bad_header``
        {header}.
    """
    catalogue = catalogue or load_catalogue()
    known = set(communes)
    text, name = _inventory_text(source)
    lines = [
        (n, line)
        for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    _check_header(name, lines)
    errors: list[str] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    out: dict[str, dict[str, int]] = {}
    for n, line in lines[1:]:
        row = next(csv.reader([line]))
        if len(row) < 3:
            message = f"expected 3 fields, got {len(row)}"
            errors.append(f"line {n}: {message}")
            problems.append(
                Problem("wrong_field_count", message, params={"count": len(row)}, line=n)
            )
            continue
        commune, resource, q, found = _row_problems(row, known, catalogue, seen, n)
        if found:
            errors.append(f"line {n}: " + "; ".join(p.message for p in found))
            problems += found
        elif q is not None:
            out.setdefault(commune, {})[resource] = q
    if errors:
        shown = "\n  ".join(errors[:20]) + (
            f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        )
        raise InventoryError(
            f"{name}: {len(errors)} bad line(s), nothing imported:\n  {shown}",
            errors,
            code="inventory_invalid",
            params={"count": len(errors)},
            problems=problems,
        )
    return out


def write_inventory_csv(
    inventory: Mapping[str, Mapping[str, int]],
    path: str | os.PathLike[str] | TextIO,
    *,
    sample: bool = False,
) -> None:
    """Write an inventory as the long-form CSV of CONTRACT.md (sample data labelled)."""
    buf = io.StringIO()
    if sample:
        buf.write(f"# {SAMPLE_LABEL}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["commune", "resource", "quantity"])
    for commune in sorted(inventory):
        for resource, q in inventory[commune].items():
            w.writerow([commune, resource, int(q)])
    if isinstance(path, (str, os.PathLike)):
        Path(path).write_text(buf.getvalue(), encoding="utf-8")
    else:
        path.write(buf.getvalue())
