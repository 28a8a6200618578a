"""The elements the maps are made of: an offline base map, a GeoJSON layer styled in the browser
from each feature's properties, a search box over commune names, corner panels, and the features
(commune polygons, province borders, links, arrow heads) with coordinates rounded.

Light by design: one GeoJSON layer per map, styled in the browser from a colour property (no
per-feature style copies), geometry from :mod:`maps.simplify`, coordinates rounded, no CDN.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import networkx as nx
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from geo.i18n import number
from geo.text import fold
from maps.legend import RISK_COLOURS, esc, words
from maps.offline import ATTRIBUTION, LOCAL_CSS, LOCAL_JS


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
    root = m.get_root()
    assert isinstance(root, Figure)  # a folium.Map's root is its page
    root.header.add_child(
        Element(
            "<style>html .leaflet-container{background:#cfe3ef;font:13px/1.35 system-ui,sans-serif}"
            ".lx-box{background:#fff;padding:6px 8px;border-radius:4px;box-shadow:0 1px 4px #0004;"
            "max-width:320px}"
            ".lx-box h4{margin:0 0 4px;font-size:13px}.lx-sw{display:inline-block;width:12px;"
            "height:12px;margin-right:5px;border:1px solid #555;vertical-align:-2px}"
            ".lx-search input{width:230px;padding:4px}"
            ".lx-search ul{list-style:none;margin:2px 0 0;padding:0;max-height:180px;overflow:auto}"
            ".lx-search li{cursor:pointer;padding:2px 4px}.lx-search li:hover{background:#eef}"
            ".lx-panel{max-height:60vh;overflow:auto}.lx-panel h4{cursor:pointer}"
            ".lx-panel h4:after{content:' \\25BE'}"
            ".lx-closed>:not(h4){display:none}.lx-closed h4{margin:0}"
            ".lx-closed h4:after{content:' \\25B8'}"
            "@media (max-width:600px){html .leaflet-container{font-size:11px}"
            ".lx-box{max-width:62vw}.lx-search input{width:150px}"
            ".leaflet-control-attribution{font-size:9px;line-height:1.2}}"
            "@media print{.lx-search{display:none}.lx-closed>:not(h4){display:block}}</style>"
        )
    )
    root.html.add_child(Element(f'<div id="lx-attrib" hidden>{ATTRIBUTION}</div>'))
    _Attribution(ATTRIBUTION).add_to(m)
    return m


class _Attribution(MacroElement):
    _template = Template("""{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.setPrefix(false);
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
    {% endmacro %}""")

    def __init__(self, text: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no type hints
        self.text = text


class ColouredGeoJson(MacroElement):
    """A GeoJSON layer styled from each feature's ``c`` (fill colour), ``w`` (line width), ``d``
    (dash) and ``o`` (opacity) properties, with an HTML tooltip from ``t`` and popup from ``p``."""

    _template = Template("""{% macro script(this, kwargs) %}
    var {{ this.get_name() }} = L.geoJSON({{ this.data }}, {
        style: function (f) { var p = f.properties; return {
            color: p.lc || "#4a4a4a", weight: p.w === undefined ? 0.8 : p.w,
            dashArray: p.d || null, fillColor: p.c || "#e8e8e3",
            fillOpacity: p.o === undefined ? 0.75 : p.o, opacity: 0.9}; },
        pointToLayer: function (f, ll) {
            return L.circleMarker(ll, {radius: f.properties.r || 6}); },
        onEachFeature: function (f, layer) {
            if (f.properties.t) layer.bindTooltip(f.properties.t, {sticky: true});
            if (f.properties.p) layer.bindPopup(f.properties.p);
        }
    }).addTo({{ this._parent.get_name() }});
    {% if this.layer_name %}window.lxLayers = window.lxLayers || {};
    window.lxLayers[{{ this.layer_name|tojson }}] = {{ this.get_name() }};{% endif %}
    {% endmacro %}""")

    def __init__(self, features: list[dict[str, Any]], *, name: str | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no type hints
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
      function fold(s) { return s.normalize("NFD").replace(/[\\u0300-\\u036f]/g, "")
                                 .replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase().trim(); }
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
          idx.filter(function (e) { return e[2].indexOf(q) >= 0 || e[0].indexOf(q) === 0; })
             .slice(0, 12)
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
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no type hints
        self._name = "SearchBox"
        self.placeholder = placeholder
        pts = gdf.geometry.representative_point()
        # columns, not rows: ``iterrows`` builds a Series per commune (3,321 nationwide)
        entries = [
            [code, full, fold(f"{name} {full}"), round(p.x, 4), round(p.y, 4)]
            for code, name, full, p in zip(
                gdf.index, gdf["name"], gdf["full_name"], pts, strict=True
            )
        ]
        self.index = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))


class Panel(MacroElement):
    """A box of HTML in a corner (legend, escalations, inventory)."""

    _template = Template("""{% macro script(this, kwargs) %}
    (function () { var map = {{ this._parent.get_name() }},
        c = L.control({position: {{ this.position|tojson }}});
      c.onAdd = function () {
        var d = L.DomUtil.create("div", "lx-box lx-panel {{ this.css }}");
        d.innerHTML = {{ this.html_js }};
        // the title folds the panel away; on a small map (a phone, a page's card) it starts folded
        var h = d.querySelector("h4");
        if (h) { h.setAttribute("role", "button"); h.tabIndex = 0;
          h.addEventListener("click", function () { d.classList.toggle("lx-closed"); });
          if (map.getSize().x < 600) d.classList.add("lx-closed"); }
        L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d; };
      c.addTo(map); })();
    {% endmacro %}""")

    def __init__(self, html: str, *, position: str = "bottomright", css: str = "") -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no type hints
        self._name = "Panel"
        self.html_js = script_json(html)
        self.position = position
        self.css = css


def script_json(value: Any) -> str:
    """JSON for inside a ``<script>``: readable Vietnamese, and no ``</`` to end the script."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def rounded(geom: Any, digits: int = 5) -> dict[str, Any]:
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
    t = words(lang)
    feats = []
    rows = zip(
        gdf.index,
        gdf["full_name"],
        gdf["province_name"],
        gdf["population"],
        gdf["population_suspect"],
        gdf.geometry,
        strict=True,
    )  # columns, not ``iterrows``: no Series built per commune
    for code, full_name, province_name, population, suspect, geom in rows:
        pop = number(population, lang)
        if suspect:
            pop += f" ({t['suspect']})"
        tip = (
            f"<b>{esc(full_name)}</b><br>{t['code']} {code} · {esc(province_name)}"
            f"<br>{t['population']}: {pop}"
        )
        if extra and code in extra:
            tip += "<br>" + extra[code]
        feats.append(
            {
                "type": "Feature",
                "geometry": rounded(geom, digits),
                "properties": {"code": code, "c": colours.get(code, RISK_COLOURS[0]), "t": tip},
            }
        )
    return feats


def province_lines(provinces: gpd.GeoDataFrame, digits: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "Feature",
            "geometry": rounded(g, digits),
            "properties": {"lc": "#222", "w": 2.2, "o": 0},
        }
        for g in provinces.geometry
        if not g.is_empty
    ]


def arrow_head(a: tuple[float, float], b: tuple[float, float], size: float) -> list[list[float]]:
    """A small triangle at ``b`` pointing from ``a`` (lon/lat), as a polygon ring."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = math.hypot(dx, dy) or 1.0
    ux, uy = dx / n, dy / n
    tip = (b[0] - ux * size * 0.3, b[1] - uy * size * 0.3)
    base = (tip[0] - ux * size, tip[1] - uy * size)
    left = (base[0] - uy * size * 0.5, base[1] + ux * size * 0.5)
    right = (base[0] + uy * size * 0.5, base[1] - ux * size * 0.5)
    return [[round(p[0], 5), round(p[1], 5)] for p in (tip, left, right, tip)]


def link_feature(
    G: nx.Graph, u: str, v: str, colour: str, width: float, dash: str | None, html: str
) -> dict[str, Any]:
    coords = [[round(G.nodes[c]["lon"], 5), round(G.nodes[c]["lat"], 5)] for c in (u, v)]
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {"lc": colour, "w": width, "d": dash, "t": html, "p": html},
    }
