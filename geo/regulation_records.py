"""Typed records of a drafted coordination regulation (:class:`DraftRegulation`, its
:class:`BoxCard` and :class:`Backfill` rows, its :class:`Reason`), worded through the catalogues;
``to_json()`` is CONTRACT.md's regulation JSON with status ``"draft"``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from geo import i18n
from geo.catalogue import Resource, load_catalogue
from geo.i18n import N_
from geo.regulation import BoxCard

#: The field of cooperation every draft is about (the planners add the others when they edit).
DISASTER_RESPONSE = "disaster_response"

#: The words of a draft: catalogue keys (``draft.*``), each with the params its reasons pass.
REASON_KEYS = (
    N_("draft.title"),  # {a}, {b}
    N_("draft.reason_partner"),  # {helper}, {receiver}, {order}, {minutes}
    N_("draft.reason_apart"),  # {helper}, {receiver}
    N_("draft.reason_shared"),  # {helper}, {receiver}, {count}
    N_("draft.reason_slow"),  # {helper}, {receiver}, {minutes}, {max_minutes}
    N_("draft.reason_covers"),  # {helper}, {receiver}, {level}, {what}
    N_("draft.reason_no_spare"),  # {helper}, {receiver}
    N_("draft.reason_spare"),  # {helper}, {reserve}
    N_("draft.reason_backfill"),  # {helper}, {covered_by}
)


@dataclass(frozen=True)
class Backfill:
    """While ``helper``'s forces are away, ``covered_by`` (a neighbour of the helper that the
    scenarios flooding the receiver leave dry, where one exists) covers the helper's commune."""

    helper: str
    covered_by: str

    def to_json(self) -> dict[str, str]:
        return {"helper": self.helper, "covered_by": self.covered_by}


@dataclass(frozen=True)
class Reason:
    """One sentence of a rationale: a catalogue key and its params. Params named in
    :data:`NAME_PARAMS` are commune codes (worded as the commune's name), ``what`` is a
    ``{resource: quantity}`` mapping (worded with labels and units), numbers are Babel's."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(
        self,
        lang: str = i18n.DEFAULT_LANG,
        *,
        names: Mapping[str, str] | None = None,
        catalogue: Mapping[str, Resource] | None = None,
    ) -> str:
        """The sentence in ``lang``."""
        names = names or {}
        out: dict[str, Any] = {}
        for k, v in self.params.items():
            if k in NAME_PARAMS:
                out[k] = names.get(v, v)
            elif k == "what":
                out[k] = resources_text(v, lang, catalogue=catalogue)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out[k] = i18n.number(v, lang)
            else:
                out[k] = v
        return i18n.say(lang, self.key, **out)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "params": dict(self.params)}


#: The params of a :class:`Reason` that hold a commune code.
NAME_PARAMS = frozenset({"helper", "receiver", "covered_by", "a", "b"})


def resources_text(
    quantities: Mapping[str, int],
    lang: str = i18n.DEFAULT_LANG,
    *,
    catalogue: Mapping[str, Resource] | None = None,
) -> str:
    """``dân quân: 50 người; xuồng, ca nô: 2 chiếc`` (:func:`geo.i18n.per_resource`)."""
    catalogue = catalogue or load_catalogue()
    labels = {k: (r.label_vi if lang == "vi" else r.label_en) for k, r in catalogue.items()}
    units = {k: r.unit for k, r in catalogue.items()}
    return i18n.per_resource(quantities, labels, units, lang)


@dataclass(frozen=True)
class DraftRegulation:
    """A drafted regulation between two ``parties`` (adjacent or linked by an open rule):
    the box cards both ways, who covers each helper meanwhile, and why (``reasons``).

    ``to_json(lang)`` gives CONTRACT.md's regulation JSON (no ``id``: storage gives it)."""

    parties: tuple[str, str]
    box_cards: tuple[BoxCard, ...]
    backfill: tuple[Backfill, ...]
    reasons: tuple[Reason, ...]
    names: Mapping[str, str] = field(default_factory=dict)

    def title(self, lang: str = i18n.DEFAULT_LANG) -> str:
        """``Quy chế phối hợp ... giữa xã A và xã B``."""
        a, b = self.parties
        return Reason(N_("draft.title"), {"a": a, "b": b}).text(lang, names=self.names)

    def rationale(
        self, lang: str = i18n.DEFAULT_LANG, *, catalogue: Mapping[str, Resource] | None = None
    ) -> str:
        """Every reason, in ``lang``, one sentence after another."""
        return " ".join(r.text(lang, names=self.names, catalogue=catalogue) for r in self.reasons)

    def to_json(
        self, lang: str = i18n.DEFAULT_LANG, *, catalogue: Mapping[str, Resource] | None = None
    ) -> dict[str, Any]:
        """CONTRACT.md's regulation JSON, status ``"draft"``, worded in ``lang``."""
        return {
            "number": None,
            "title": self.title(lang),
            "parties": list(self.parties),
            "status": "draft",
            "signed_on": None,
            "valid_from": None,
            "valid_to": None,
            "fields": [DISASTER_RESPONSE],
            "activities": [],
            "box_cards": [c.to_json() for c in self.box_cards],
            "backfill": [b.to_json() for b in self.backfill],
            "rationale": self.rationale(lang, catalogue=catalogue),
        }
