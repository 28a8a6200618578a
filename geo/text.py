"""Vietnamese text helpers: folding diacritics for search."""

from __future__ import annotations

import unicodedata

_EXTRA = str.maketrans({"đ": "d", "Đ": "D"})


def strip_diacritics(text: str) -> str:
    """Return ``text`` without Vietnamese diacritics ("Châu Khê" -> "Chau Khe").

    ``đ``/``Đ`` are not decomposed by Unicode and are mapped explicitly.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def fold(text: str) -> str:
    """Fold ``text`` for search: no diacritics, lower case, single spaces."""
    return " ".join(strip_diacritics(unicodedata.normalize("NFC", text)).lower().split())
