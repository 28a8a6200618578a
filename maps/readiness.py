"""The readiness map (issue 11, part 4): every commune coloured by the share of its modelled
needs at one level that its own stock plus its regulations' box cards cover
(:func:`geo.readiness.readiness` rows), grey without any regulation; a popup with its partners
and its coverage at every level. Offline like the other maps (:func:`maps.layers.base_map`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import folium
import geopandas as gpd

from geo import i18n
from geo.i18n import N_
from maps.layers import (
    ColouredGeoJson,
    Panel,
    SearchBox,
    base_map,
    commune_features,
    province_lines,
)
from maps.legend import esc, legend_html, words

#: Coverage bands, lowest first: (lower bound, colour); red to green (ColorBrewer RdYlGn).
BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "#d73027"),
    (0.5, "#fc8d59"),
    (0.75, "#fee08b"),
    (0.9, "#91cf60"),
    (1.0, "#1a9850"),
)
#: A commune without any regulation.
NO_REGULATION = "#bdbdbd"

#: The readiness map's words.
WORDS = {
    "legend": N_("readiness.legend"),  # {level}
    "band": N_("readiness.band"),  # {low}, {high}
    "band_top": N_("readiness.band_top"),  # {low}
    "none": N_("readiness.none"),
    "partners": N_("readiness.partners"),
    "level": N_("readiness.level"),  # {level}
    "exceeds": N_("readiness.exceeds"),
}


def band_colour(share: float) -> str:
    """The colour of a coverage ``share`` in [0, 1] (:data:`BANDS`)."""
    colour = BANDS[0][1]
    for low, c in BANDS:
        if share + 1e-9 >= low:
            colour = c
    return colour


def _percent(x: float, lang: str) -> str:
    return i18n.number(round(x * 100), lang)


def band_labels(lang: str) -> list[tuple[str, str]]:
    """``(colour, label)`` of every band, then of a commune without a regulation."""
    out = []
    for i, (low, colour) in enumerate(BANDS):
        if i + 1 < len(BANDS):
            high = BANDS[i + 1][0]
            label = i18n.say(
                lang, WORDS["band"], low=_percent(low, lang), high=_percent(high, lang)
            )
        else:
            label = i18n.say(lang, WORDS["band_top"], low=_percent(low, lang))
        out.append((colour, label))
    out.append((NO_REGULATION, i18n.gettext(lang, WORDS["none"])))
    return out


def readiness_map(
    communes: gpd.GeoDataFrame,
    provinces: gpd.GeoDataFrame,
    rows: Iterable[Mapping[str, Any]],
    *,
    level: str = "2",
    exceeds: Collection[str] = (),
    names: Mapping[str, str] | None = None,
    lang: str = "vi",
    tile_url: str | None = None,
    tile_attribution: str | None = None,
    digits: int = 5,
) -> folium.Map:
    """Communes coloured by their coverage at ``level`` (readiness JSON ``rows``), grey
    without a regulation, outlined in red when one of their cards exceeds what the helper now
    has to spare (``exceeds``: codes); a popup with name, partners and coverage at every level.

    ``communes`` are the display geometries (index = code, with ``full_name``); communes with
    no row keep the neutral colour. ``names`` names partners outside ``communes``.
    """
    t = words(lang)
    by_code = {str(r["commune"]): r for r in rows}
    names = {**{str(c): str(n) for c, n in communes["full_name"].items()}, **(names or {})}
    colours: dict[str, str] = {}
    popups: dict[str, str] = {}
    for code, r in by_code.items():
        cov = r.get("coverage") or {}
        colours[code] = (
            band_colour(float(cov.get(level, 0.0))) if r.get("regulations") else NO_REGULATION
        )
        partners = ", ".join(esc(names.get(p, p)) for p in r.get("partners", []))
        lines = [f"<b>{esc(names.get(code, code))}</b>"]
        if r.get("regulations"):
            lines.append(f"{esc(i18n.gettext(lang, WORDS['partners']))}: {partners}")
        else:
            lines.append(esc(i18n.gettext(lang, WORDS["none"])))
        for lv in sorted(cov):
            share = _percent(float(cov[lv]), lang)
            lines.append(f"{esc(i18n.say(lang, WORDS['level'], level=lv))}: {share}%")
        if code in exceeds:
            lines.append(f"<b>{esc(i18n.gettext(lang, WORDS['exceeds']))}</b>")
        popups[code] = "<br>".join(lines)
    feats = commune_features(communes, colours=colours, lang=lang, digits=digits)
    for f in feats:
        code = f["properties"]["code"]
        if code in popups:
            f["properties"]["p"] = popups[code]
        if code in exceeds:
            f["properties"].update({"lc": "#d00000", "w": 2.5})
    m = base_map(tuple(communes.total_bounds), tile_url=tile_url, tile_attribution=tile_attribution)
    ColouredGeoJson(feats, name="readiness").add_to(m)
    ColouredGeoJson(province_lines(provinces, digits), name="provinces").add_to(m)
    SearchBox(communes, t["search"]).add_to(m)
    title = i18n.say(lang, WORDS["legend"], level=level)
    Panel(legend_html(band_labels(lang), title)).add_to(m)
    return m
