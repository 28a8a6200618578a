"""Communes by name for every form: text (a name with or without diacritics, or a code) to a
code, or a named error carrying the candidates to choose from.

One resolver for all forms (a request's addressees, rules' communes, ...): a name shared by
several communes is never guessed (``commune_name_ambiguous`` with the choices, the user's
neighbours first), a name that matches nothing is ``commune_name_unknown`` (with the closest
names as suggestions). Codes still work.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import networkx as nx

from api.errors import BadInput
from api.state import AppState
from geo.names import CommuneName, NameIndex, split_names
from geo.text import fold

#: how many candidates an error offers
MAX_CHOICES = 8


class CommuneNameError(BadInput):
    """A commune typed by name that names none or several; ``choices`` are the candidates
    (the communes of that name, or the closest names), the user's neighbours first."""

    def __init__(
        self,
        detail: str,
        *,
        code: str,
        field: str,
        params: Mapping[str, Any],
        choices: list[CommuneName],
    ) -> None:
        super().__init__(detail, code=code, field=field, params=params)
        self.choices = choices


def name_index(state: AppState) -> NameIndex:
    """The service's name index (built once, on first use, from the loaded boundaries)."""
    index = state.geo.names
    if index is None:
        index = state.geo.names = NameIndex.from_gdf(state.gdf)
    return index


def neighbours(G: nx.Graph, code: str | None) -> list[str]:
    """The communes that share a border with ``code`` (a mere corner, ``point_touch``, is no
    aid route and does not count; none for no commune or one not in the graph)."""
    if not code or code not in G:
        return []
    return sorted(n for n in G[code] if G.edges[code, n].get("kind") != "point_touch")


def resolve_commune(
    index: NameIndex,
    text: str,
    *,
    field: str,
    near: Collection[str] = (),
    picks: Mapping[str, str] | None = None,
) -> str:
    """The code of the commune ``text`` names.

    Parameters
    ----------
    index
        The communes' names (:func:`name_index`).
    text
        A code, a name with or without diacritics and unit type, or a name with its province
        in brackets ("Yên Hoà (Tuyên Quang)").
    field
        The form field or JSON key ``text`` came from (the error's ``field``).
    near
        The user's neighbours: listed first among the choices.
    picks
        Choices already made for ambiguous names: folded text -> code.

    Raises
    ------
    CommuneNameError
        ``commune_name_ambiguous`` (params ``name``, ``count``) when several communes have the
        name; ``commune_name_unknown`` (params ``name``) when none has.
    """
    text = " ".join(text.split())
    picked = (picks or {}).get(fold(text))
    if picked and picked in index:  # chosen among the candidates an error offered
        return picked
    codes = index.exact(text)
    if len(codes) == 1:
        return codes[0]
    if codes:
        choices = sorted(
            (index.by_code[c] for c in codes),
            key=lambda c: (c.code not in near, c.folded_province, c.code),
        )
        raise CommuneNameError(
            f"{field}: {len(codes)} communes are called {text!r}: choose one "
            f"({', '.join(f'{c.label} {c.code}' for c in choices[:MAX_CHOICES])})",
            code="commune_name_ambiguous",
            field=field,
            params={"name": text, "count": len(codes)},
            choices=choices[:MAX_CHOICES],
        )
    raise CommuneNameError(
        f"{field}: no commune is called {text!r} (type its name, with or without "
        "diacritics, or its five-digit code)",
        code="commune_name_unknown",
        field=field,
        params={"name": text},
        choices=index.search(text, near=near, limit=MAX_CHOICES),
    )


def resolve_communes(
    index: NameIndex,
    text: str,
    *,
    field: str,
    near: Collection[str] = (),
    picks: Mapping[str, str] | None = None,
) -> list[str]:
    """The codes of a typed list of communes (commas, semicolons or new lines between them),
    each once, in the order typed; the first name that names none or several raises (see
    :func:`resolve_commune`)."""
    out: list[str] = []
    for part in split_names(text):
        code = resolve_commune(index, part, field=field, near=near, picks=picks)
        if code not in out:
            out.append(code)
    return out


def picks_of(form: Mapping[str, str], field: str) -> dict[str, str]:
    """The choice a form's user made among an ambiguous name's communes: the radio button
    ``<field>_choice`` (a code) for the text in ``<field>_choice_for``."""
    code, name = form.get(f"{field}_choice", ""), form.get(f"{field}_choice_for", "")
    return {fold(name): code} if code and name else {}


def labelled(index: NameIndex, codes: Collection[str]) -> str:
    """Codes as a form shows them back: the communes' names, comma-separated (a code the
    index does not know stays a code)."""
    return ", ".join(index.label(c) if c in index else c for c in codes)


def picker_options(state: AppState, code: str | None, *, limit: int = 400) -> list[CommuneName]:
    """What a name picker lists before anything is typed: ``code``'s neighbours, then the
    other communes of its province (a typed name outside them is found by the server)."""
    index = name_index(state)
    near = neighbours(state.graph, code)
    province = index.by_code[code].province_code if code and code in index else None
    same = state.communes_by_province.get(province, set()) if province else set()
    return index.neighbours_first(near, sorted(same - {code}), limit=limit)
