"""The four maps: overview, incident, commune, rules. Each takes data, returns a ``folium.Map``,
made of the elements of :mod:`maps.layers`, worded and coloured by :mod:`maps.legend`, numbers
and quantities written by :mod:`geo.i18n`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import folium
import geopandas as gpd
import networkx as nx

from maps.features import (
    commune_link_features,
    escalations_html,
    incident_requests_html,
    inventory_html,
    requests_html,
    rule_colour,
    rules_popup,
    transfer_features,
    unmet_features,
)
from maps.layers import (
    ColouredGeoJson,
    Panel,
    SearchBox,
    base_map,
    commune_features,
    link_feature,
    province_lines,
)
from maps.legend import RISK_COLOURS, RULE_COLOURS, esc, legend_html, risk_labels, words


def overview_map(
    communes: gpd.GeoDataFrame,
    provinces: gpd.GeoDataFrame,
    *,
    risk: Mapping[str, int] | None = None,
    open_requests: Mapping[str, int] | None = None,
    lang: str = "vi",
    tile_url: str | None = None,
    tile_attribution: str | None = None,
    digits: int = 5,
) -> folium.Map:
    """Every commune coloured by incident risk level, province borders, a search box,
    tooltips with name, code, population (flagged when suspect) and open requests."""
    t = words(lang)
    risk = risk or {}
    colours = {c: RISK_COLOURS[lvl] for c, lvl in risk.items()}
    extra = {c: f"{t['open_requests']}: {n}" for c, n in (open_requests or {}).items() if n}
    m = base_map(tuple(communes.total_bounds), tile_url=tile_url, tile_attribution=tile_attribution)
    ColouredGeoJson(
        commune_features(communes, colours=colours, lang=lang, extra=extra, digits=digits),
        name="communes",
    ).add_to(m)
    ColouredGeoJson(province_lines(provinces, digits), name="provinces").add_to(m)
    SearchBox(communes, t["search"]).add_to(m)
    Panel(
        legend_html(((RISK_COLOURS[k], v) for k, v in risk_labels(lang).items()), t["legend"])
    ).add_to(m)
    return m


def incident_map(
    communes: gpd.GeoDataFrame,
    provinces: gpd.GeoDataFrame,
    G: nx.Graph,
    *,
    scenario: Mapping[str, Any],
    plan: Mapping[str, Any] | None,
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    requests: Iterable[Mapping[str, Any]] = (),
    catalogue: Mapping[str, Any] | None = None,
    lang: str = "vi",
    tile_url: str | None = None,
    tile_attribution: str | None = None,
) -> folium.Map:
    """Affected communes by risk level, the plan's transfers as arrows from giver to receiver
    (quantities and resources in popups), unmet needs marked, escalations listed per body and
    resource with units (as the command page lists them), the incident's open ``requests`` (those
    a re-plan replaced greyed and marked, not counted as open asks), a legend. ``units`` default
    to the catalogue's."""
    t = words(lang)
    labels = labels or {}
    if units is None:
        from geo.resources import load_catalogue

        units = {k: r.unit for k, r in load_catalogue().items()}
    level = int(scenario.get("risk_level", 1))
    affected = [a["commune"] for a in scenario.get("affected", [])]
    transfers = list(plan.get("transfers", [])) if plan else []
    unmet = list(plan.get("unmet", [])) if plan else []
    involved = set(affected).union(*(tr["path"] for tr in transfers))
    focus = communes[communes.index.isin(involved)] if involved else communes
    minx, miny, maxx, maxy = focus.total_bounds
    pad = max(maxx - minx, maxy - miny) * 0.15 + 0.02
    m = base_map(
        (minx - pad, miny - pad, maxx + pad, maxy + pad),
        tile_url=tile_url,
        tile_attribution=tile_attribution,
    )
    colours = dict.fromkeys(affected, RISK_COLOURS[level])
    ColouredGeoJson(commune_features(communes, colours=colours, lang=lang), name="communes").add_to(
        m
    )
    ColouredGeoJson(province_lines(provinces, 5), name="provinces").add_to(m)
    feats: list[dict[str, Any]] = []
    size = max(maxx - minx, maxy - miny, 0.05) * 0.02
    pos = {c: (G.nodes[c]["lon"], G.nodes[c]["lat"]) for c in G if c in involved}
    if plan:
        feats += transfer_features(G, transfers, pos, size, labels=labels, units=units, lang=lang)
        feats += unmet_features(G, unmet, pos, labels=labels, units=units, lang=lang)
        escalated = escalations_html(unmet, labels=labels, units=units, lang=lang)
        if escalated:
            Panel(escalated, position="topleft", css="lx-escalations").add_to(m)
    asked = incident_requests_html(G, requests, catalogue or {}, lang=lang)
    if asked:
        Panel(asked, position="bottomleft", css="lx-requests").add_to(m)
    ColouredGeoJson(feats, name="plan").add_to(m)
    legend = [
        (RISK_COLOURS[level], risk_labels(lang)[level]),
        ("#1d3557", t["transfer"]),
        (RULE_COLOURS["agreement"], f"{t['transfer']} {t['agreement']}"),
        ("#d00000", t["unmet"]),
    ]
    Panel(legend_html(legend, f"{t['legend']}: {scenario.get('name', '')}")).add_to(m)
    SearchBox(communes, t["search"]).add_to(m)
    return m


def commune_map(
    communes: gpd.GeoDataFrame,
    G: nx.Graph,
    code: str,
    *,
    links: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
    inventory: Mapping[str, Any] | None = None,
    catalogue: Mapping[str, Any] | None = None,
    incoming: Iterable[Mapping[str, Any]] = (),
    outgoing: Iterable[Mapping[str, Any]] = (),
    lang: str = "vi",
    tile_url: str | None = None,
    tile_attribution: str | None = None,
) -> folium.Map:
    """One commune, its neighbours and links (kind, travel minutes, agreements), its inventory
    by pillar, incoming and outgoing requests."""
    nbrs = sorted(G[code])
    shown = communes[communes.index.isin([code, *nbrs])]
    colours = {code: "#ff9f1c", **dict.fromkeys(nbrs, "#cfe8cf")}
    m = base_map(tuple(shown.total_bounds), tile_url=tile_url, tile_attribution=tile_attribution)
    ColouredGeoJson(commune_features(shown, colours=colours, lang=lang), name="communes").add_to(m)
    links = links or {}
    ColouredGeoJson(commune_link_features(G, code, links, lang=lang), name="links").add_to(m)
    if inventory is not None:
        Panel(inventory_html(inventory, catalogue or {}, lang=lang), position="bottomleft").add_to(
            m
        )
    req_html = requests_html(G, incoming, outgoing, catalogue or {}, lang=lang)
    if req_html:
        Panel(req_html, position="topright", css="lx-requests").add_to(m)
    return m


def rules_map(
    communes: gpd.GeoDataFrame,
    provinces: gpd.GeoDataFrame,
    G: nx.Graph,
    rules: Iterable[Mapping[str, Any]],
    *,
    lang: str = "vi",
    tile_url: str | None = None,
    tile_attribution: str | None = None,
) -> folium.Map:
    """Links coloured by rule (agreement, added, closed, default), each rule's document and
    validity in a popup."""
    t = words(lang)
    m = base_map(tuple(communes.total_bounds), tile_url=tile_url, tile_attribution=tile_attribution)
    ColouredGeoJson(commune_features(communes, colours={}, lang=lang), name="communes").add_to(m)
    ColouredGeoJson(province_lines(provinces, 5), name="provinces").add_to(m)
    shown = set(communes.index)
    by_pair: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rules:
        by_pair.setdefault(tuple(sorted((r["a"], r["b"]))), []).append(r)
    feats = []
    for u, v, e in G.edges(data=True):
        if (
            u not in shown
            or v not in shown
            or (u, v) in by_pair
            or (v, u) in by_pair
            or e.get("kind") == "point_touch"
        ):
            continue
        feats.append(
            link_feature(
                G,
                u,
                v,
                RULE_COLOURS["default"],
                1.2,
                None,
                f"{esc(G.nodes[u].get('full_name'))} – {esc(G.nodes[v].get('full_name'))}: "
                f"{t['default']}",
            )
        )
    for (u, v), rs in by_pair.items():
        if u not in G or v not in G:
            continue
        kinds = {r["type"] for r in rs}
        colour = rule_colour(kinds)
        html = rules_popup(G, u, v, rs, lang=lang)
        feats.append(
            link_feature(G, u, v, colour, 4, "8 6" if "close_link" in kinds else None, html)
        )
    ColouredGeoJson(feats, name="rules").add_to(m)
    legend = [
        (RULE_COLOURS["agreement"], t["agreement_link"]),
        (RULE_COLOURS["added"], t["added"]),
        (RULE_COLOURS["closed"], t["closed"]),
        (RULE_COLOURS["default"], t["default"]),
    ]
    Panel(legend_html(legend, t["legend"])).add_to(m)
    SearchBox(communes, t["search"]).add_to(m)
    return m
