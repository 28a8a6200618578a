"""What the maps say and how they colour it: the official risk colours, the rule colours, the
maps' words in the reader's language (catalogue entries ``map.*``, ``risk.*``, from
:mod:`geo.i18n`) and the HTML of a legend."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from geo import i18n
from geo.i18n import N_

#: Risk level colours (Decision 18/2021/QĐ-TTg): 1 light blue, 2 light yellow, 3 orange,
#: 4 red, 5 purple; unaffected communes neutral.
RISK_COLOURS = {0: "#e8e8e3", 1: "#9fd3f5", 2: "#fff3a0", 3: "#ff9f1c", 4: "#e63946", 5: "#7b2cbf"}
#: Risk levels as a reader sees them.
RISK_LEVELS = {
    0: N_("risk.0"),
    1: N_("risk.1"),
    2: N_("risk.2"),
    3: N_("risk.3"),
    4: N_("risk.4"),
    5: N_("risk.5"),
}
RULE_COLOURS = {
    "agreement": "#2a9d8f",
    "added": "#1d4ed8",
    "closed": "#d00000",
    "default": "#9aa0a6",
}  #: The maps' words, by the name the builders use.
WORDS = {
    "population": N_("map.population"),
    "suspect": N_("map.suspect"),
    "open_requests": N_("map.open_requests"),
    "code": N_("map.code"),
    "search": N_("map.search"),
    "legend": N_("map.legend"),
    "unmet": N_("map.unmet"),
    "escalations": N_("map.escalations"),
    "transfer": N_("map.transfer"),
    "from": N_("map.from"),
    "to": N_("map.to"),
    "minutes": N_("map.minutes"),
    "agreement": N_("map.agreement"),
    "inventory": N_("map.inventory"),
    "incoming": N_("map.incoming"),
    "outgoing": N_("map.outgoing"),
    "neighbours": N_("map.neighbours"),
    "link": N_("map.link"),
    "rule": N_("map.rule"),
    "valid": N_("map.valid"),
    "document": N_("map.document"),
    "default": N_("map.default"),
    "added": N_("map.added"),
    "closed": N_("map.closed"),
    "sample": N_("map.sample"),
    "agreement_link": N_("map.agreement_link"),
    "outdated": N_("map.outdated"),
    "requests": N_("map.requests"),
}


def words(lang: str) -> dict[str, str]:
    """The maps' words in ``lang`` (:data:`WORDS`)."""
    return i18n.labels(lang, WORDS)


def risk_labels(lang: str) -> dict[int, str]:
    """Risk level names in ``lang``, by level (0 = not affected)."""
    return {level: i18n.gettext(lang, key) for level, key in RISK_LEVELS.items()}


def esc(s: Any) -> str:
    """``s`` as HTML text (``&``, ``<``, ``>`` and ``"`` escaped)."""
    return (
        str(s)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def legend_html(entries: Iterable[tuple[str, str]], title: str) -> str:
    """A legend: a swatch and a label per ``(colour, label)``, under ``title``."""
    rows = "".join(
        f'<div><span class="lx-sw" style="background:{c}"></span>{esc(label)}</div>'
        for c, label in entries
    )
    return f"<h4>{esc(title)}</h4>{rows}"
