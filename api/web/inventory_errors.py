"""A refused inventory file as the upload form shows it: a heading and one line per bad line of
the file, each problem worded from its code (``error.<code>``) in the page language."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request

from api.errors import ServiceError
from api.state import state_of
from api.web.error_pages import error_text
from api.web.render import lang_of, resource_labels, say
from geo import i18n
from geo.errors import Problem

#: bad lines listed on the page; the rest are counted
MAX_SHOWN = 50


def problem_lines(request: Request, problems: Sequence[Problem]) -> list[str]:
    """One text per line of the file (``dòng 4: …; …``), its problems in the page language; a
    problem of the whole file (no line) on its own."""
    by_line: dict[int, list[str]] = {}
    out: list[tuple[int | None, str]] = []
    for p in problems:
        text = error_text(request, p)
        if p.line is None:
            out.append((None, text))
        elif p.line in by_line:
            by_line[p.line].append(text)
        else:
            by_line[p.line] = [text]
            out.append((p.line, ""))
    return [
        text
        if line is None
        else say(request, "inv.line", n=line, problems="; ".join(by_line[line]))
        for line, text in out
    ]


def _more(request: Request, n: int) -> str:
    return say(request, "inv.more", n=n) if n > 0 else ""


def _bad_lines(
    request: Request, exc: ServiceError, errors: Sequence[object] | None, more: int
) -> dict[str, Any]:
    """A file with bad lines: worded from ``exc.problems``; while the service gives none, its
    ``errors`` (one per bad line) as they are (English). The heading counts bad lines of the
    file: those the detail lists and those it left out (``more``), else the error's count."""
    if errors is not None:
        total = len(errors) + more
    else:
        total = int(exc.params.get("count", len(exc.problems)))
    if exc.problems:
        lines = problem_lines(request, exc.problems)[:MAX_SHOWN]
        more = max(0, total - len(lines))
    else:
        lines = [str(e) for e in errors or []]
    heading = i18n.error_text(lang_of(request), "inventory_invalid", {"count": total}, "")
    return {"heading": heading + ":", "lines": lines, "more": _more(request, more)}


def inventory_upload_error(request: Request, exc: ServiceError) -> dict[str, Any]:
    """What the upload form shows for a refused file: a heading and the lines, in the page
    language. Bad lines are worded from ``exc.problems`` (shown as the service gave them, in
    English, while it gives none); communes outside the area and quantities below what offers
    promised are the detail's ``communes`` and ``conflicts``."""
    lang = lang_of(request)
    detail = exc.detail if isinstance(exc.detail, dict) else {}
    G = state_of(request).graph

    def name(c: str) -> str:
        return f"{G.nodes[c].get('full_name', c)} ({c})" if c in G else c

    more = int(detail.get("more", 0) or 0)
    if exc.code == "outside_area" or "communes" in detail:
        communes = detail.get("communes") or exc.params.get("communes", [])
        shown = communes[:50]
        return {
            "heading": say(request, "inv.outside", communes=", ".join(name(c) for c in shown)),
            "lines": [],
            "more": _more(request, len(communes) - len(shown)),
        }
    if exc.code == "below_reserved" or "conflicts" in detail:
        labels = resource_labels(lang)
        lines = [
            say(
                request,
                "inv.reserved_row",
                commune=name(x["commune"]),
                resource=labels.get(x["resource"], x["resource"]),
                quantity=i18n.number(x["quantity"], lang),
                reserved=i18n.number(x["reserved"], lang),
            )
            for x in detail.get("conflicts", [])
        ]
        return {
            "heading": say(request, "inv.reserved"),
            "lines": lines,
            "more": _more(request, more),
        }
    if exc.problems or "errors" in detail:
        return _bad_lines(request, exc, detail.get("errors"), more)
    return {"heading": error_text(request, exc), "lines": [], "more": ""}
