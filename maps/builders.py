"""The four maps: overview, incident, commune, rules. Each takes data, returns a ``folium.Map``.

Light by design: one GeoJSON layer per map, styled in the browser from a colour property (no
per-feature style copies), geometry from :mod:`maps.simplify`, coordinates rounded, no CDN.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import folium
import geopandas as gpd
import networkx as nx
from branca.element import Element, MacroElement
from jinja2 import Template

from geo.text import fold
from maps.offline import ATTRIBUTION, LOCAL_CSS, LOCAL_JS

#: Risk level colours (Decision 18/2021/QĐ-TTg): 1 light blue, 2 light yellow, 3 orange,
#: 4 red, 5 purple; unaffected communes neutral.
RISK_COLOURS = {0: "#e8e8e3", 1: "#9fd3f5", 2: "#fff3a0", 3: "#ff9f1c", 4: "#e63946", 5: "#7b2cbf"}
RISK_LABELS = {
    "vi": {
        0: "Không bị ảnh hưởng",
        1: "Cấp 1 – nhỏ",
        2: "Cấp 2 – trung bình",
        3: "Cấp 3 – lớn",
        4: "Cấp 4 – rất lớn",
        5: "Cấp 5 – thảm họa",
    },
    "en": {
        0: "Not affected",
        1: "Level 1 – low",
        2: "Level 2 – medium",
        3: "Level 3 – high",
        4: "Level 4 – very high",
        5: "Level 5 – catastrophic",
    },
}
PILLAR_LABELS = {
    "vi": {
        "forces": "Lực lượng",
        "means": "Phương tiện",
        "materials": "Vật tư",
        "logistics": "Hậu cần",
    },
    "en": {
        "forces": "Forces",
        "means": "Means",
        "materials": "Materials",
        "logistics": "Logistics",
    },
}
#: Request and offer statuses as a reader sees them.
STATUS_LABELS = {
    "vi": {
        "open": "đang mở",
        "fulfilled": "đã đáp ứng",
        "cancelled": "đã hủy",
        "offered": "đã đề nghị",
        "accepted": "đã chấp nhận",
        "declined": "bị từ chối",
        "dispatched": "đang vận chuyển",
        "arrived": "đã đến",
    },
    "en": {
        "open": "open",
        "fulfilled": "fulfilled",
        "cancelled": "cancelled",
        "offered": "offered",
        "accepted": "accepted",
        "declined": "declined",
        "dispatched": "on its way",
        "arrived": "arrived",
    },
}
RULE_COLOURS = {
    "agreement": "#2a9d8f",
    "added": "#1d4ed8",
    "closed": "#d00000",
    "default": "#9aa0a6",
}
TEXT = {
    "vi": {
        "population": "Dân số",
        "suspect": "nghi ngờ",
        "open_requests": "Yêu cầu đang mở",
        "code": "Mã",
        "search": "Tìm xã (có hoặc không dấu)…",
        "legend": "Chú giải",
        "unmet": "Chưa đáp ứng",
        "escalations": "Chuyển lên cấp trên",
        "transfer": "Chi viện",
        "from": "từ",
        "to": "đến",
        "minutes": "phút",
        "agreement": "theo thỏa thuận",
        "inventory": "Nguồn lực tại chỗ",
        "incoming": "Yêu cầu đến",
        "outgoing": "Yêu cầu đi",
        "neighbours": "Xã liền kề",
        "link": "Liên kết",
        "rule": "Quy tắc",
        "valid": "Hiệu lực",
        "document": "Văn bản",
        "default": "mặc định",
        "added": "liên kết bổ sung",
        "closed": "đóng",
        "sample": "DỮ LIỆU MẪU",
        "agreement_link": "thỏa thuận phối hợp",
    },
    "en": {
        "population": "Population",
        "suspect": "suspect",
        "open_requests": "Open requests",
        "code": "Code",
        "search": "Find a commune (with or without diacritics)…",
        "legend": "Legend",
        "unmet": "Unmet",
        "escalations": "Escalations",
        "transfer": "Aid",
        "from": "from",
        "to": "to",
        "minutes": "min",
        "agreement": "under agreement",
        "inventory": "On-site resources",
        "incoming": "Incoming requests",
        "outgoing": "Outgoing requests",
        "neighbours": "Neighbours",
        "link": "Link",
        "rule": "Rule",
        "valid": "Valid",
        "document": "Document",
        "default": "default",
        "added": "added link",
        "closed": "closed",
        "sample": "SAMPLE DATA",
        "agreement_link": "coordination agreement",
    },
}


def vn_number(x: float | None) -> str:
    """A number in Vietnamese format: ``12.345`` (thousands with dots), decimals with a comma."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    if float(x).is_integer():
        return f"{int(x):,}".replace(",", ".")
    return f"{x:,.1f}".replace(",", "X").replace(".", ",").replace("X", ".")


def number(x: float | None, lang: str = "vi") -> str:
    """A number as the reader writes it: ``1.556`` in Vietnamese, ``1,556`` in English."""
    if lang != "en" or x is None or (isinstance(x, float) and math.isnan(x)):
        return vn_number(x)
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.1f}"


#: Catalogue units (written in Vietnamese) in English; a count of things needs no unit there.
UNITS_EN = {
    "người": "people",
    "lít": "L",
    "kg": "kg",
    "bao": "bags",
    "tấm": "sheets",
    "bộ": "kits",
    "chiếc": "",
    "cái": "",
}


def amount(quantity: float, unit: str | None, lang: str = "vi") -> str:
    """A quantity with its unit in the reader's language: ``16.525 lít``, ``16,525 L``."""
    unit = unit or ""
    unit = unit if lang == "vi" else UNITS_EN.get(unit, unit)
    return f"{number(quantity, lang)} {unit}".strip()


def per_resource(
    quantities: Mapping[str, float],
    labels: Mapping[str, str],
    units: Mapping[str, str],
    lang: str = "vi",
) -> str:
    """Quantities of different resources, never added together: ``nước uống: 30.680 lít; bạt: 168 tấm``."""
    return "; ".join(
        f"{labels.get(k, k)}: {amount(q, units.get(k), lang)}" for k, q in quantities.items()
    )


def vn_day(value: Any) -> str:
    """An ISO date (``2025-07-20``, or the date part of a timestamp) as ``20/07/2025``; anything
    else unchanged."""
    text = "" if value is None else str(value)
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", text)
    return f"{m.group(3)}/{m.group(2)}/{m.group(1)}" if m else text


def base_map(
    bounds: tuple[float, float, float, float],
    *,
    tile_url: str | None = None,
    tile_attribution: str | None = None,
) -> folium.Map:
    """An empty map over ``bounds`` (minx, miny, maxx, maxy) with local Leaflet only."""
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_control=True)
    m.default_js = list(LOCAL_JS)
    m.default_css = list(LOCAL_CSS)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution or "tiles", name="base").add_to(m)
    minx, miny, maxx, maxy = bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    m.get_root().header.add_child(
        Element(
            "<style>html .leaflet-container{background:#cfe3ef;font:13px/1.35 system-ui,sans-serif}"
            ".lx-box{background:#fff;padding:6px 8px;border-radius:4px;box-shadow:0 1px 4px #0004;max-width:320px}"
            ".lx-box h4{margin:0 0 4px;font-size:13px}.lx-sw{display:inline-block;width:12px;height:12px;"
            "margin-right:5px;border:1px solid #555;vertical-align:-2px}.lx-search input{width:230px;padding:4px}"
            ".lx-search ul{list-style:none;margin:2px 0 0;padding:0;max-height:180px;overflow:auto}"
            ".lx-search li{cursor:pointer;padding:2px 4px}.lx-search li:hover{background:#eef}"
            ".lx-panel{max-height:60vh;overflow:auto}.lx-panel h4{cursor:pointer}.lx-panel h4:after{content:' \\25BE'}"
            ".lx-closed>:not(h4){display:none}.lx-closed h4{margin:0}.lx-closed h4:after{content:' \\25B8'}"
            "@media (max-width:600px){html .leaflet-container{font-size:11px}.lx-box{max-width:62vw}"
            ".lx-search input{width:150px}.leaflet-control-attribution{font-size:9px;line-height:1.2}}"
            "@media print{.lx-search{display:none}.lx-closed>:not(h4){display:block}}</style>"
        )
    )
    m.get_root().html.add_child(Element(f'<div id="lx-attrib" hidden>{ATTRIBUTION}</div>'))
    _Attribution(ATTRIBUTION).add_to(m)
    return m


class _Attribution(MacroElement):
    _template = Template("""{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.setPrefix(false);
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
    {% endmacro %}""")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ColouredGeoJson(MacroElement):
    """A GeoJSON layer styled from each feature's ``c`` (fill colour), ``w`` (line width), ``d``
    (dash) and ``o`` (opacity) properties, with an HTML tooltip from ``t`` and popup from ``p``."""

    _template = Template("""{% macro script(this, kwargs) %}
    var {{ this.get_name() }} = L.geoJSON({{ this.data }}, {
        style: function (f) { var p = f.properties; return {
            color: p.lc || "#4a4a4a", weight: p.w === undefined ? 0.8 : p.w, dashArray: p.d || null,
            fillColor: p.c || "#e8e8e3", fillOpacity: p.o === undefined ? 0.75 : p.o, opacity: 0.9}; },
        pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: f.properties.r || 6}); },
        onEachFeature: function (f, layer) {
            if (f.properties.t) layer.bindTooltip(f.properties.t, {sticky: true});
            if (f.properties.p) layer.bindPopup(f.properties.p);
        }
    }).addTo({{ this._parent.get_name() }});
    {% if this.layer_name %}window.lxLayers = window.lxLayers || {};
    window.lxLayers[{{ this.layer_name|tojson }}] = {{ this.get_name() }};{% endif %}
    {% endmacro %}""")

    def __init__(self, features: list[dict[str, Any]], *, name: str | None = None) -> None:
        super().__init__()
        self._name = "ColouredGeoJson"
        self.layer_name = name
        self.data = json.dumps(
            {"type": "FeatureCollection", "features": features},
            ensure_ascii=False,
            separators=(",", ":"),
        ).replace("</", "<\\/")


class SearchBox(MacroElement):
    """A search box over commune names, with or without diacritics ("chau khe" finds Châu Khê)."""

    _template = Template("""{% macro script(this, kwargs) %}
    (function () {
      var map = {{ this._parent.get_name() }}, idx = {{ this.index }};
      function fold(s) { return s.normalize("NFD").replace(/[\\u0300-\\u036f]/g, "").replace(/đ/g, "d")
                                 .replace(/Đ/g, "D").toLowerCase().trim(); }
      var box = L.control({position: "topright"});
      box.onAdd = function () {
        var d = L.DomUtil.create("div", "lx-box lx-search");
        d.innerHTML = '<input type="search" id="lx-q" placeholder={{ this.placeholder|tojson }} ' +
                      'aria-label={{ this.placeholder|tojson }}><ul id="lx-hits"></ul>';
        L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
        var input = d.querySelector("input"), list = d.querySelector("ul");
        input.addEventListener("input", function () {
          var q = fold(input.value); list.innerHTML = "";
          if (q.length < 2) return;
          idx.filter(function (e) { return e[2].indexOf(q) >= 0 || e[0].indexOf(q) === 0; }).slice(0, 12)
             .forEach(function (e) {
               var li = document.createElement("li"); li.textContent = e[1] + " (" + e[0] + ")";
               li.dataset.code = e[0];
               li.onclick = function () { map.setView([e[4], e[3]], Math.max(map.getZoom(), 11)); };
               list.appendChild(li); });
        });
        return d;
      };
      box.addTo(map);
    })();
    {% endmacro %}""")

    def __init__(self, gdf: gpd.GeoDataFrame, placeholder: str) -> None:
        super().__init__()
        self._name = "SearchBox"
        self.placeholder = placeholder
        pts = gdf.geometry.representative_point()
        entries = [
            [
                code,
                row["full_name"],
                fold(f"{row['name']} {row['full_name']}"),
                round(p.x, 4),
                round(p.y, 4),
            ]
            for (code, row), p in zip(gdf.iterrows(), pts)
        ]
        self.index = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))


class Panel(MacroElement):
    """A box of HTML in a corner (legend, escalations, inventory)."""

    _template = Template("""{% macro script(this, kwargs) %}
    (function () { var map = {{ this._parent.get_name() }}, c = L.control({position: {{ this.position|tojson }}});
      c.onAdd = function () { var d = L.DomUtil.create("div", "lx-box lx-panel {{ this.css }}"); d.innerHTML = {{ this.html_js }};
        // the title folds the panel away; on a small map (a phone, a page's card) it starts folded
        var h = d.querySelector("h4");
        if (h) { h.setAttribute("role", "button"); h.tabIndex = 0;
          h.addEventListener("click", function () { d.classList.toggle("lx-closed"); });
          if (map.getSize().x < 600) d.classList.add("lx-closed"); }
        L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d; };
      c.addTo(map); })();
    {% endmacro %}""")

    def __init__(self, html: str, *, position: str = "bottomright", css: str = "") -> None:
        super().__init__()
        self._name = "Panel"
        self.html_js = script_json(html)
        self.position = position
        self.css = css


def script_json(value: Any) -> str:
    """JSON for inside a ``<script>``: readable Vietnamese, and no ``</`` to end the script."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _esc(s: Any) -> str:
    return (
        str(s)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def _rounded(geom: Any, digits: int = 5) -> dict[str, Any]:
    def rnd(c: Any) -> Any:
        return (
            [round(c[0], digits), round(c[1], digits)]
            if isinstance(c[0], float)
            else [rnd(x) for x in c]
        )

    g = geom.__geo_interface__
    return {"type": g["type"], "coordinates": rnd(g["coordinates"])}


def commune_features(
    gdf: gpd.GeoDataFrame,
    *,
    colours: Mapping[str, str],
    lang: str = "vi",
    extra: Mapping[str, str] | None = None,
    digits: int = 5,
) -> list[dict[str, Any]]:
    """Commune polygons with colour and tooltip (name, code, population flagged when suspect)."""
    t = TEXT[lang]
    feats = []
    for code, row in gdf.iterrows():
        pop = number(row["population"], lang)
        if row["population_suspect"]:
            pop += f" ({t['suspect']})"
        tip = f"<b>{_esc(row['full_name'])}</b><br>{t['code']} {code} · {_esc(row['province_name'])}<br>{t['population']}: {pop}"
        if extra and code in extra:
            tip += "<br>" + extra[code]
        feats.append(
            {
                "type": "Feature",
                "geometry": _rounded(row.geometry, digits),
                "properties": {"code": code, "c": colours.get(code, RISK_COLOURS[0]), "t": tip},
            }
        )
    return feats


def _province_lines(provinces: gpd.GeoDataFrame, digits: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "Feature",
            "geometry": _rounded(g, digits),
            "properties": {"lc": "#222", "w": 2.2, "o": 0},
        }
        for g in provinces.geometry
        if not g.is_empty
    ]


def _legend(entries: Iterable[tuple[str, str]], title: str) -> str:
    rows = "".join(
        f'<div><span class="lx-sw" style="background:{c}"></span>{_esc(label)}</div>'
        for c, label in entries
    )
    return f"<h4>{_esc(title)}</h4>{rows}"


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
    t = TEXT[lang]
    risk = risk or {}
    colours = {c: RISK_COLOURS[lvl] for c, lvl in risk.items()}
    extra = {c: f"{t['open_requests']}: {n}" for c, n in (open_requests or {}).items() if n}
    m = base_map(tuple(communes.total_bounds), tile_url=tile_url, tile_attribution=tile_attribution)
    ColouredGeoJson(
        commune_features(communes, colours=colours, lang=lang, extra=extra, digits=digits),
        name="communes",
    ).add_to(m)
    ColouredGeoJson(_province_lines(provinces, digits), name="provinces").add_to(m)
    SearchBox(communes, t["search"]).add_to(m)
    Panel(
        _legend(((RISK_COLOURS[k], v) for k, v in RISK_LABELS[lang].items()), t["legend"])
    ).add_to(m)
    return m


def _arrow_head(a: tuple[float, float], b: tuple[float, float], size: float) -> list[list[float]]:
    """A small triangle at ``b`` pointing from ``a`` (lon/lat), as a polygon ring."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = math.hypot(dx, dy) or 1.0
    ux, uy = dx / n, dy / n
    tip = (b[0] - ux * size * 0.3, b[1] - uy * size * 0.3)
    base = (tip[0] - ux * size, tip[1] - uy * size)
    left = (base[0] - uy * size * 0.5, base[1] + ux * size * 0.5)
    right = (base[0] + uy * size * 0.5, base[1] - ux * size * 0.5)
    return [[round(p[0], 5), round(p[1], 5)] for p in (tip, left, right, tip)]


def incident_map(
    communes: gpd.GeoDataFrame,
    provinces: gpd.GeoDataFrame,
    G: nx.Graph,
    *,
    scenario: Mapping[str, Any],
    plan: Mapping[str, Any] | None,
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    lang: str = "vi",
    tile_url: str | None = None,
    tile_attribution: str | None = None,
) -> folium.Map:
    """Affected communes by risk level, the plan's transfers as arrows from giver to receiver
    (quantities and resources in popups), unmet needs marked, escalations listed per body and
    resource with units (as the command page lists them), a legend. ``units`` default to the
    catalogue's."""
    t = TEXT[lang]
    labels = labels or {}
    if units is None:
        from geo.resources import load_catalogue

        units = {k: r.unit for k, r in load_catalogue().items()}
    level = int(scenario.get("risk_level", 1))
    affected = [a["commune"] for a in scenario.get("affected", [])]
    involved = set(affected)
    if plan:
        for tr in plan.get("transfers", []):
            involved.update(tr["path"])
    focus = communes[communes.index.isin(involved)] if involved else communes
    minx, miny, maxx, maxy = focus.total_bounds
    pad = max(maxx - minx, maxy - miny) * 0.15 + 0.02
    m = base_map(
        (minx - pad, miny - pad, maxx + pad, maxy + pad),
        tile_url=tile_url,
        tile_attribution=tile_attribution,
    )
    colours = {c: RISK_COLOURS[level] for c in affected}
    ColouredGeoJson(commune_features(communes, colours=colours, lang=lang), name="communes").add_to(
        m
    )
    ColouredGeoJson(_province_lines(provinces, 5), name="provinces").add_to(m)
    feats: list[dict[str, Any]] = []
    size = max(maxx - minx, maxy - miny, 0.05) * 0.02
    pos = {c: (G.nodes[c]["lon"], G.nodes[c]["lat"]) for c in G if c in involved}
    if plan:
        grouped: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for tr in plan.get("transfers", []):
            grouped.setdefault(tuple(tr["path"]), []).append(tr)
        for path, trs in grouped.items():
            coords = [[round(pos[c][0], 5), round(pos[c][1], 5)] for c in path]
            total = sum(x["quantity"] for x in trs)
            what = "".join(
                f"<li>{_esc(per_resource({x['resource']: x['quantity']}, labels, units, lang))}</li>"
                for x in trs
            )
            ag = f" ({t['agreement']})" if any(x["agreement"] for x in trs) else ""
            popup = (
                f"<b>{t['transfer']}</b> {t['from']} {_esc(G.nodes[path[0]].get('full_name', path[0]))} "
                f"{t['to']} {_esc(G.nodes[path[-1]].get('full_name', path[-1]))}{ag}<br>"
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
                        "coordinates": [_arrow_head(pos[path[-2]], pos[path[-1]], size)],
                    },
                    "properties": {"lc": colour, "c": colour, "o": 1, "w": 1, "p": popup},
                }
            )
        unmet: dict[str, list[dict[str, Any]]] = {}
        for u in plan.get("unmet", []):
            unmet.setdefault(u["commune"], []).append(u)
        for c, items in unmet.items():
            html = (
                f"<b>{t['unmet']}: {_esc(G.nodes[c].get('full_name', c))}</b><ul>"
                + "".join(
                    f"<li>{_esc(per_resource({u['resource']: u['quantity']}, labels, units, lang))} → "
                    f"{_esc(u['escalate_to'])}</li>"
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
                        "lc": "#d00000",
                        "c": "#d00000",
                        "o": 0.9,
                        "w": 2,
                        "r": 9,
                        "p": html,
                        "t": html,
                    },
                }
            )
        # per body, per resource, as the command page lists them: litres and boats are never added
        by_body: dict[str, dict[str, float]] = {}
        for u in plan.get("unmet", []):
            res = by_body.setdefault(u["escalate_to"], {})
            res[u["resource"]] = res.get(u["resource"], 0) + u["quantity"]
        esc = "".join(
            f"<li><b>{_esc(body)}</b><ul style='margin:0;padding-left:14px'>"
            + "".join(
                f"<li>{_esc(per_resource({k: q}, labels, units, lang))}</li>"
                for k, q in items.items()
            )
            + "</ul></li>"
            for body, items in sorted(by_body.items())
        )
        if esc:
            Panel(
                f"<h4>{t['escalations']}</h4><ul style='margin:0;padding-left:16px'>{esc}</ul>",
                position="topleft",
                css="lx-escalations",
            ).add_to(m)
    ColouredGeoJson(feats, name="plan").add_to(m)
    legend = [
        (RISK_COLOURS[level], RISK_LABELS[lang][level]),
        ("#1d3557", t["transfer"]),
        (RULE_COLOURS["agreement"], f"{t['transfer']} {t['agreement']}"),
        ("#d00000", t["unmet"]),
    ]
    Panel(_legend(legend, f"{t['legend']}: {scenario.get('name', '')}")).add_to(m)
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
    t = TEXT[lang]
    nbrs = sorted(G[code])
    shown = communes[communes.index.isin([code, *nbrs])]
    colours = {code: "#ff9f1c", **{n: "#cfe8cf" for n in nbrs}}
    m = base_map(tuple(shown.total_bounds), tile_url=tile_url, tile_attribution=tile_attribution)
    ColouredGeoJson(commune_features(shown, colours=colours, lang=lang), name="communes").add_to(m)
    links = links or {}
    feats = []
    a = (G.nodes[code]["lon"], G.nodes[code]["lat"])
    for n in nbrs:
        e = G.edges[code, n]
        link = links.get(tuple(sorted((code, n))), {})
        b = (G.nodes[n]["lon"], G.nodes[n]["lat"])
        kind = e.get("kind")
        closed = link.get("closed", False)
        colour = (
            RULE_COLOURS["closed"]
            if closed
            else RULE_COLOURS["agreement"]
            if link.get("agreement")
            else (RULE_COLOURS["default"] if kind != "point_touch" else "#bbbbbb")
        )
        minutes = link.get("travel_minutes")
        html = (
            f"<b>{_esc(G.nodes[n].get('full_name', n))}</b> ({n})<br>{t['link']}: {kind}"
            f"{', ' + number(minutes, lang) + ' ' + t['minutes'] if minutes else ''}"
            f"{'<br>' + t['agreement'] + ': ' + _esc(link.get('document') or '') if link.get('agreement') else ''}"
            f"{'<br>' + t['closed'] if closed else ''}"
        )
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
    ColouredGeoJson(feats, name="links").add_to(m)
    if inventory is not None:
        sample = f" <b style='color:#b00'>[{t['sample']}]</b>" if inventory.get("sample") else ""
        rows = []
        by_pillar: dict[str, list[str]] = {}
        for key, q in inventory.get("items", {}).items():
            res = (catalogue or {}).get(key)
            pillar = res.pillar if res else "other"
            label = (res.label_vi if lang == "vi" else res.label_en) if res else key
            unit = res.unit if res else ""
            by_pillar.setdefault(pillar, []).append(f"{_esc(label)}: {_esc(amount(q, unit, lang))}")
        for pillar, items in by_pillar.items():
            rows.append(
                f"<div><i>{_esc(PILLAR_LABELS[lang].get(pillar, pillar))}</i>: "
                + "; ".join(items)
                + "</div>"
            )
        Panel(f"<h4>{t['inventory']}{sample}</h4>" + "".join(rows), position="bottomleft").add_to(m)

    def name(c: str) -> str:
        return _esc(G.nodes[c].get("full_name", c)) if c in G else _esc(c)

    def what(r: Mapping[str, Any]) -> str:
        res = (catalogue or {}).get(r["resource"])
        label = (res.label_vi if lang == "vi" else res.label_en) if res else r["resource"]
        status = STATUS_LABELS[lang].get(r["status"], r["status"])
        return f"{number(r['quantity'], lang)} {_esc(label)} ({_esc(status)})"

    req_html = ""
    for title, reqs, who in (
        (t["incoming"], list(incoming), lambda r: f"{t['from']} {name(r['commune'])}"),
        (t["outgoing"], list(outgoing), lambda r: f"{t['to']} " + ", ".join(map(name, r["to"]))),
    ):
        if reqs:
            req_html += (
                f"<h4>{title}</h4><ul style='margin:0;padding-left:16px'>"
                + "".join(f"<li>#{r['id']} {who(r)}: {what(r)}</li>" for r in reqs[:12])
                + "</ul>"
            )
    if req_html:
        Panel(req_html, position="topright").add_to(m)
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
    t = TEXT[lang]
    m = base_map(tuple(communes.total_bounds), tile_url=tile_url, tile_attribution=tile_attribution)
    ColouredGeoJson(commune_features(communes, colours={}, lang=lang), name="communes").add_to(m)
    ColouredGeoJson(_province_lines(provinces, 5), name="provinces").add_to(m)
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
            _link_feature(
                G,
                u,
                v,
                RULE_COLOURS["default"],
                1.2,
                None,
                f"{_esc(G.nodes[u].get('full_name'))} – {_esc(G.nodes[v].get('full_name'))}: {t['default']}",
            )
        )
    for (u, v), rs in by_pair.items():
        if u not in G or v not in G:
            continue
        kinds = {r["type"] for r in rs}
        colour = (
            RULE_COLOURS["closed"]
            if "close_link" in kinds
            else RULE_COLOURS["agreement"]
            if "agreement" in kinds
            else RULE_COLOURS["added"]
            if "add_link" in kinds
            else RULE_COLOURS["default"]
        )
        html = (
            f"<b>{_esc(G.nodes[u].get('full_name'))} – {_esc(G.nodes[v].get('full_name'))}</b>"
            + "".join(
                f"<br>{t['rule']} {_esc(r.get('id', ''))}: {_esc(r['type'])}"
                f"{' · ' + t['document'] + ' ' + _esc(r['document']) if r.get('document') else ''}"
                f"{' · ' + t['valid'] + ' ' + _esc(vn_day(r.get('valid_from')) or '…') + ' – ' + _esc(vn_day(r.get('valid_to')) or '…') if r.get('valid_from') or r.get('valid_to') else ''}"
                f"{' · ' + number(r['travel_minutes'], lang) + ' ' + t['minutes'] if r.get('travel_minutes') else ''}"
                for r in rs
            )
        )
        feats.append(
            _link_feature(G, u, v, colour, 4, "8 6" if "close_link" in kinds else None, html)
        )
    ColouredGeoJson(feats, name="rules").add_to(m)
    legend = [
        (RULE_COLOURS["agreement"], t["agreement_link"]),
        (RULE_COLOURS["added"], t["added"]),
        (RULE_COLOURS["closed"], t["closed"]),
        (RULE_COLOURS["default"], t["default"]),
    ]
    Panel(_legend(legend, t["legend"])).add_to(m)
    SearchBox(communes, t["search"]).add_to(m)
    return m


def _link_feature(
    G: nx.Graph, u: str, v: str, colour: str, width: float, dash: str | None, html: str
) -> dict[str, Any]:
    coords = [[round(G.nodes[c]["lon"], 5), round(G.nodes[c]["lat"], 5)] for c in (u, v)]
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {"lc": colour, "w": width, "d": dash, "t": html, "p": html},
    }
