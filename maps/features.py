"""What the maps draw from the service's data: the plan's transfers and unmet needs, the
escalations, a commune's links, inventory and requests, the rules of a pair, in the reader's
language (numbers and quantities by :mod:`geo.i18n`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from geo import i18n
from geo.flood_keys import BY_AIR_OR_BOAT
from geo.i18n import amount, day, number, per_resource
from maps.layers import arrow_head
from maps.legend import RULE_COLOURS, esc, words


def _what(
    quantities: Mapping[str, float],
    labels: Mapping[str, str],
    units: Mapping[str, str],
    lang: str,
) -> str:
    return esc(per_resource(quantities, labels, units, lang))


def transfer_features(
    G: nx.Graph,
    transfers: Iterable[Mapping[str, Any]],
    pos: Mapping[str, tuple[float, float]],
    size: float,
    *,
    labels: Mapping[str, str],
    units: Mapping[str, str],
    lang: str,
) -> list[dict[str, Any]]:
    """The plan's transfers, one line and arrow head per path (its resources in the popup)."""
    t = words(lang)
    grouped: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for tr in transfers:
        grouped.setdefault(tuple(tr["path"]), []).append(tr)
    feats: list[dict[str, Any]] = []
    for path, trs in grouped.items():
        coords = [[round(pos[c][0], 5), round(pos[c][1], 5)] for c in path]
        total = sum(x["quantity"] for x in trs)
        what = "".join(
            f"<li>{_what({x['resource']: x['quantity']}, labels, units, lang)}</li>" for x in trs
        )
        ag = f" ({t['agreement']})" if any(x["agreement"] for x in trs) else ""
        giver = esc(G.nodes[path[0]].get("full_name", path[0]))
        receiver = esc(G.nodes[path[-1]].get("full_name", path[-1]))
        popup = (
            f"<b>{t['transfer']}</b> {t['from']} {giver} {t['to']} {receiver}{ag}<br>"
            f"{number(trs[0]['travel_minutes'], lang)} {t['minutes']}<ul>{what}</ul>"
        )
        width = 2 + min(6, math.log10(total + 1))
        colour = RULE_COLOURS["agreement"] if ag else "#1d3557"
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": {"lc": colour, "w": width, "p": popup, "t": popup},
            }
        )
        feats.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [arrow_head(pos[path[-2]], pos[path[-1]], size)],
                },
                "properties": {"lc": colour, "c": colour, "o": 1, "w": 1, "p": popup},
            }
        )
    return feats


def unmet_features(
    G: nx.Graph,
    unmet: Iterable[Mapping[str, Any]],
    pos: Mapping[str, tuple[float, float]],
    *,
    labels: Mapping[str, str],
    units: Mapping[str, str],
    lang: str,
) -> list[dict[str, Any]]:
    """A red point per commune with unmet needs, listing them and where they are escalated; a
    larger purple one for a fully isolated commune (its needs are to come by air or boat)."""
    t = words(lang)
    by_commune: dict[str, list[Mapping[str, Any]]] = {}
    for u in unmet:
        by_commune.setdefault(u["commune"], []).append(u)
    feats: list[dict[str, Any]] = []
    for c, items in by_commune.items():
        cut_off = any(u.get("isolated") for u in items)
        mode = f"<br><i>{esc(i18n.gettext(lang, BY_AIR_OR_BOAT))}</i>" if cut_off else ""
        colour = "#7b2cbf" if cut_off else "#d00000"
        html = (
            f"<b>{t['unmet']}: {esc(G.nodes[c].get('full_name', c))}</b>{mode}<ul>"
            + "".join(
                f"<li>{_what({u['resource']: u['quantity']}, labels, units, lang)} → "
                f"{esc(u['escalate_to'])}</li>"
                for u in items
            )
            + "</ul>"
        )
        feats.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(pos[c][0], 5), round(pos[c][1], 5)],
                },
                "properties": {
                    "lc": colour,
                    "c": colour,
                    "o": 0.9,
                    "w": 2,
                    "r": 12 if cut_off else 9,
                    "p": html,
                    "t": html,
                },
            }
        )
    return feats


def escalations_html(
    unmet: Iterable[Mapping[str, Any]],
    *,
    labels: Mapping[str, str],
    units: Mapping[str, str],
    lang: str,
) -> str:
    """Per body, per resource, as the command page lists them: litres and boats are never added;
    empty when nothing is escalated."""
    by_body: dict[str, dict[str, float]] = {}
    for u in unmet:
        res = by_body.setdefault(u["escalate_to"], {})
        res[u["resource"]] = res.get(u["resource"], 0) + u["quantity"]
    items = "".join(
        f"<li><b>{esc(body)}</b><ul style='margin:0;padding-left:14px'>"
        + "".join(f"<li>{_what({k: q}, labels, units, lang)}</li>" for k, q in items.items())
        + "</ul></li>"
        for body, items in sorted(by_body.items())
    )
    if not items:
        return ""
    title = words(lang)["escalations"]
    return f"<h4>{title}</h4><ul style='margin:0;padding-left:16px'>{items}</ul>"


def link_colour(*, closed: bool, agreement: bool, kind: str | None) -> str:
    """A link's colour on the commune map: closed, under agreement, a shared edge or a point."""
    if closed:
        return RULE_COLOURS["closed"]
    if agreement:
        return RULE_COLOURS["agreement"]
    return RULE_COLOURS["default"] if kind != "point_touch" else "#bbbbbb"


def commune_link_features(
    G: nx.Graph,
    code: str,
    links: Mapping[tuple[str, str], Mapping[str, Any]],
    *,
    lang: str,
) -> list[dict[str, Any]]:
    """A line from ``code`` to each neighbour: the link's kind, travel minutes, agreement."""
    t = words(lang)
    feats = []
    a = (G.nodes[code]["lon"], G.nodes[code]["lat"])
    for n in sorted(G[code]):
        link = links.get((min(code, n), max(code, n)), {})
        b = (G.nodes[n]["lon"], G.nodes[n]["lat"])
        kind = G.edges[code, n].get("kind")
        closed = bool(link.get("closed", False))
        colour = link_colour(closed=closed, agreement=bool(link.get("agreement")), kind=kind)
        minutes = link.get("travel_minutes")
        html = f"<b>{esc(G.nodes[n].get('full_name', n))}</b> ({n})<br>{t['link']}: {kind}"
        if minutes:
            html += f", {number(minutes, lang)} {t['minutes']}"
        if link.get("agreement"):
            html += f"<br>{t['agreement']}: {esc(link.get('document') or '')}"
        if closed:
            html += f"<br>{t['closed']}"
        feats.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [
                        [round(a[0], 5), round(a[1], 5)],
                        [round(b[0], 5), round(b[1], 5)],
                    ],
                },
                "properties": {
                    "lc": colour,
                    "w": 3,
                    "d": "6 6" if kind != "shared_edge" or closed else None,
                    "t": html,
                    "p": html,
                },
            }
        )
    return feats


def _label(res: Any, key: str, lang: str) -> str:
    """A catalogue resource's name in ``lang``; the key when the catalogue lacks it."""
    return str(res.label_vi if lang == "vi" else res.label_en) if res else key


def inventory_html(inventory: Mapping[str, Any], catalogue: Mapping[str, Any], *, lang: str) -> str:
    """A commune's inventory by pillar, flagged when it is sample data."""
    t = words(lang)
    sample = f" <b style='color:#b00'>[{t['sample']}]</b>" if inventory.get("sample") else ""
    pillars = i18n.labels(lang, i18n.PILLARS)
    by_pillar: dict[str, list[str]] = {}
    for key, q in inventory.get("items", {}).items():
        res = catalogue.get(key)
        pillar = res.pillar if res else "other"
        unit = res.unit if res else ""
        by_pillar.setdefault(pillar, []).append(
            f"{esc(_label(res, key, lang))}: {esc(amount(q, unit, lang))}"
        )
    rows = "".join(
        f"<div><i>{esc(pillars.get(pillar, pillar))}</i>: " + "; ".join(items) + "</div>"
        for pillar, items in by_pillar.items()
    )
    return f"<h4>{t['inventory']}{sample}</h4>" + rows


#: how a request a re-plan replaced looks in the maps' panels: greyed, after the open asks
OUTDATED_STYLE = "color:#8a8a8a"


def open_asks(requests: Iterable[Mapping[str, Any]]) -> int:
    """How many of ``requests`` are open asks: open and not replaced by a re-plan (an
    ``outdated`` request stays open for the offers made on it, but asks nothing more)."""
    return sum(1 for r in requests if r.get("status", "open") == "open" and not r.get("outdated"))


def _request_items(
    reqs: list[Mapping[str, Any]],
    who: Any,
    what: Any,
    *,
    lang: str,
    limit: int = 12,
) -> str:
    """``<li>`` per request: the open asks first, then those a re-plan replaced, greyed and
    marked as such (:data:`OUTDATED_STYLE`); at most ``limit`` of each."""
    t = words(lang)
    live = [r for r in reqs if not r.get("outdated")][:limit]
    old = [r for r in reqs if r.get("outdated")][:limit]
    html = "".join(f"<li>#{r['id']} {who(r)}: {what(r)}</li>" for r in live)
    html += "".join(
        f'<li class="lx-outdated" id="lx-outdated-{r["id"]}" style="{OUTDATED_STYLE}">'
        f"<s>#{r['id']}</s> {who(r)}: {what(r, outdated=True)} — <i>{t['outdated']}</i></li>"
        for r in old
    )
    return html


def _request_words(
    G: nx.Graph, catalogue: Mapping[str, Any], lang: str
) -> tuple[Any, Any, Any, Any]:
    """The name of a commune, what a request asks (its status, or none when outdated), where it
    comes from and whom it asks, in ``lang``."""
    t = words(lang)
    statuses = i18n.labels(lang, i18n.STATUSES)

    def name(c: str) -> str:
        return esc(G.nodes[c].get("full_name", c)) if c in G else esc(c)

    def what(r: Mapping[str, Any], *, outdated: bool = False) -> str:
        label = _label(catalogue.get(r["resource"]), r["resource"], lang)
        text = f"{number(r['quantity'], lang)} {esc(label)}"
        if outdated:
            return text
        return f"{text} ({esc(statuses.get(r['status'], r['status']))})"

    def source(r: Mapping[str, Any]) -> str:
        return f"{t['from']} {name(r['commune'])}"

    def targets(r: Mapping[str, Any]) -> str:
        return f"{t['to']} " + ", ".join(map(name, r["to"]))

    return name, what, source, targets


def _requests_section(
    title: str, reqs: list[Mapping[str, Any]], who: Any, what: Any, lang: str
) -> str:
    t = words(lang)
    return (
        f"<h4>{title} <small>({t['open_requests']}: {number(open_asks(reqs), lang)})</small></h4>"
        "<ul style='margin:0;padding-left:16px'>"
        + _request_items(reqs, who, what, lang=lang)
        + "</ul>"
    )


def requests_html(
    G: nx.Graph,
    incoming: Iterable[Mapping[str, Any]],
    outgoing: Iterable[Mapping[str, Any]],
    catalogue: Mapping[str, Any],
    *,
    lang: str,
) -> str:
    """A commune's incoming and outgoing requests (twelve open asks of each, then up to twelve a
    re-plan replaced, greyed and marked), each heading counting only the open asks; empty when
    there are none."""
    t = words(lang)
    _, what, source, targets = _request_words(G, catalogue, lang)
    html = ""
    for title, reqs, who in (
        (t["incoming"], list(incoming), source),
        (t["outgoing"], list(outgoing), targets),
    ):
        if reqs:
            html += _requests_section(title, reqs, who, what, lang)
    return html


def incident_requests_html(
    G: nx.Graph,
    requests: Iterable[Mapping[str, Any]],
    catalogue: Mapping[str, Any],
    *,
    lang: str,
) -> str:
    """An incident's open requests (who asks whom for what), those a re-plan replaced greyed and
    marked after them, the heading counting only the open asks; empty when there are none."""
    reqs = list(requests)
    if not reqs:
        return ""
    name, what, _source, targets = _request_words(G, catalogue, lang)

    def who(r: Mapping[str, Any]) -> str:
        return f"{name(r['commune'])} {targets(r)}"

    return _requests_section(words(lang)["requests"], reqs, who, what, lang)


def rule_colour(kinds: set[str]) -> str:
    """A pair's colour on the rules map: closed over agreement over added, else the default."""
    for kind, colour in (
        ("close_link", "closed"),
        ("agreement", "agreement"),
        ("add_link", "added"),
    ):
        if kind in kinds:
            return RULE_COLOURS[colour]
    return RULE_COLOURS["default"]


def rules_popup(
    G: nx.Graph, u: str, v: str, rules: Iterable[Mapping[str, Any]], *, lang: str
) -> str:
    """The rules of a pair: type, document, validity and travel minutes of each."""
    t = words(lang)
    html = f"<b>{esc(G.nodes[u].get('full_name'))} – {esc(G.nodes[v].get('full_name'))}</b>"
    for r in rules:
        html += f"<br>{t['rule']} {esc(r.get('id', ''))}: {esc(r['type'])}"
        if r.get("document"):
            html += f" · {t['document']} {esc(r['document'])}"
        if r.get("valid_from") or r.get("valid_to"):
            start = esc(day(r.get("valid_from"), lang) or "…")
            end = esc(day(r.get("valid_to"), lang) or "…")
            html += f" · {t['valid']} {start} – {end}"
        if r.get("travel_minutes"):
            html += f" · {number(r['travel_minutes'], lang)} {t['minutes']}"
    return html
