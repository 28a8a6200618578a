"""Finding communes by name: a folded index built once, ranked search, exact look-up.

Names are compared folded (:func:`geo.text.fold`): without diacritics, so "Yên Hòa" and
"Yên Hoà" (the tone mark on either vowel) and "yen hoa" are one name, and "chau khe" finds
"Châu Khê". A name may carry its unit type ("Xã Châu Khê") and, to tell two communes of the
same name apart, its province in brackets ("Yên Hoà (Tuyên Quang)"). Five-digit codes work too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import pandas as pd

from geo.text import fold, strip_diacritics, tone_key

__all__ = ["CommuneName", "NameIndex", "split_names"]

#: unit types a name may start with, folded ("Xã", "Phường", "Đặc khu", "Thị trấn")
_TYPES = ("xa ", "phuong ", "dac khu ", "thi tran ")
_QUALIFIED = re.compile(r"^(?P<name>.*?)\s*\((?P<province>[^()]*)\)\s*$")
_CODE = re.compile(r"^\d{5}$")


@dataclass(frozen=True)
class CommuneName:
    """One commune as a name picker shows it."""

    code: str
    name: str
    full_name: str
    province_code: str
    province_name: str
    folded: str
    folded_full: str
    folded_province: str
    #: the name with its tone marks placed one way (:func:`geo.text.tone_key`)
    toned: str
    #: what a search matches besides the name: full name, province, code
    hay: str

    @property
    def label(self) -> str:
        """The full name with its province ("Xã Châu Khê (Nghệ An)")."""
        return f"{self.full_name} ({self.province_name})" if self.province_name else self.full_name


def _without_type(folded: str) -> str:
    for t in _TYPES:
        if folded.startswith(t):
            return folded[len(t) :]
    return folded


def _drop_type(text: str) -> str:
    """``text`` without a leading unit type, diacritics kept ("Xã Yên Hoà" -> "Yên Hoà")."""
    folded = fold(text)
    for t in _TYPES:
        if folded.startswith(t):
            return " ".join(text.split()[len(t.split()) :])
    return text


def split_names(text: str) -> list[str]:
    """The names or codes in a list typed by hand, separated by commas, semicolons or new
    lines (a comma inside brackets belongs to the province)."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch in ",;\n" and depth <= 0:
            out.append("".join(cur))
            cur, depth = [], 0
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [t.strip() for t in out if t.strip()]


class NameIndex:
    """Every commune's folded names, for search and look-up; build once per boundaries file.

    Parameters
    ----------
    communes
        ``CommuneName`` records (see :meth:`from_gdf`).
    """

    def __init__(self, communes: Iterable[CommuneName]) -> None:
        self.by_code: dict[str, CommuneName] = {c.code: c for c in communes}
        self._by_name: dict[str, list[str]] = {}
        for c in self.by_code.values():
            self._by_name.setdefault(c.folded, []).append(c.code)
        #: names that more than one commune carries (a picker adds the province to those)
        self.shared_names = {n for n, codes in self._by_name.items() if len(codes) > 1}

    @classmethod
    def from_gdf(cls, gdf: pd.DataFrame) -> NameIndex:
        """The index of a normalised boundaries frame (index = code; ``name``, ``full_name``,
        ``province_code``, ``province_name`` columns)."""
        records = []
        for code, name, full, pcode, pname in zip(
            gdf.index,
            gdf["name"],
            gdf["full_name"],
            gdf["province_code"],
            gdf["province_name"],
            strict=True,
        ):
            name, full = str(name), str(full) if isinstance(full, str) and full else str(name)
            pname = str(pname) if isinstance(pname, str) else ""
            records.append(
                CommuneName(
                    code=str(code),
                    name=name,
                    full_name=full,
                    province_code=str(pcode),
                    province_name=pname,
                    folded=_without_type(fold(name)),
                    folded_full=fold(full),
                    folded_province=fold(pname),
                    toned=tone_key(_drop_type(name)),
                    hay=f"{fold(full)} {fold(pname)} {code}",
                )
            )
        return cls(records)

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def label(self, code: str) -> str:
        """What a picker shows and accepts back for ``code``: the full name, with the province
        in brackets when another commune has the same name."""
        c = self.by_code[code]
        return c.label if c.folded in self.shared_names else c.full_name

    def exact(self, text: str) -> list[str]:
        """The codes ``text`` names exactly: a code, a name (with or without its unit type), or
        a name with its province in brackets. Several codes when the name is shared."""
        text = text.strip()
        if _CODE.match(text):
            return [text] if text in self.by_code else []
        province = ""
        m = _QUALIFIED.match(text)
        if m:
            text, province = m["name"], fold(m["province"])
        folded = fold(text)
        codes = self._by_name.get(_without_type(folded), [])
        if len(codes) > 1 and strip_diacritics(text) != text:
            # typed with diacritics: "Yên Hoà" is not "Yên Hoa" (the tone mark on either vowel)
            typed = tone_key(_drop_type(text))
            same = [c for c in codes if self.by_code[c].toned == typed]
            codes = same or codes
        if folded.startswith(_TYPES):  # "Phường X" is not "Xã X"
            codes = [c for c in codes if self.by_code[c].folded_full == folded] or codes
        if province:
            p = _without_type(province.replace("tinh ", "", 1).replace("thanh pho ", "", 1))
            codes = [
                c
                for c in codes
                if p == self.by_code[c].province_code or p in self.by_code[c].folded_province
            ]
        return sorted(codes)

    def search(
        self, query: str, *, near: Collection[str] = (), limit: int = 20
    ) -> list[CommuneName]:
        """Communes matching ``query``, best first.

        Every word of the folded query must occur in the name, full name, province or code.
        Ranked: exact name, then (among the name matches) the communes in ``near`` (a user's
        neighbours), then names starting with the query, names whose words start with the
        query's words, names containing them, and matches on the province or code only; within
        each, a query typed with diacritics puts the names with those diacritics first ("Yên
        Hoà" before "Yên Hoa"); ties by name. O(communes) per call: about 7 ms for the country's
        3,321 communes.
        """
        q = _without_type(fold(query.replace("(", " ").replace(")", " ")))
        words = q.split()
        if not words:
            return []
        toned = tone_key(_drop_type(query)) if strip_diacritics(query) != query else None
        ranked = []
        for c in self.by_code.values():
            tier = _tier(c, q, words)
            if tier is None:
                continue
            boost = 0 if tier == 0 else 1 if (c.code in near and tier <= 3) else 2
            # typed with diacritics: the name with those diacritics before the look-alikes
            ranked.append(((boost, tier, toned is not None and c.toned != toned, c.folded), c))
        ranked.sort(key=lambda kv: (kv[0], kv[1].code))
        return [c for _, c in ranked[:limit]]

    def neighbours_first(
        self, near: Iterable[str], more: Iterable[str] = (), *, limit: int = 400
    ) -> list[CommuneName]:
        """The communes ``near`` (by name), then ``more`` (by name), each once: a picker's
        list before anything is typed."""
        seen: set[str] = set()
        out: list[CommuneName] = []
        for group in (near, more):
            rows = sorted(
                (self.by_code[c] for c in set(group) if c in self.by_code and c not in seen),
                key=lambda c: (c.folded, c.code),
            )
            for c in rows:
                seen.add(c.code)
                out.append(c)
        return out[:limit]


def _tier(c: CommuneName, q: str, words: list[str]) -> int | None:
    """How well ``c`` matches the folded query (0 best), ``None`` when it does not."""
    if c.folded == q or c.folded_full == q or c.code == q:
        return 0
    if c.folded.startswith(q):
        return 1
    name_words = c.folded.split()
    if all(any(n.startswith(w) for n in name_words) for w in words):
        return 2
    if all(w in c.folded for w in words):
        return 3
    if all(w in c.hay for w in words):
        return 4
    return None
