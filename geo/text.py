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


#: the five Vietnamese tone marks (grave, acute, hook above, tilde, dot below), as combining
#: characters; the other marks (circumflex, breve, horn) belong to the vowel
_TONES = frozenset("\u0300\u0301\u0309\u0303\u0323")


def tone_key(text: str) -> str:
    """``text`` lower case with each word's tone mark moved to the end of the word, so that the
    old and new placements ("Hòa", "Hoà") give one key while "Hoa" and "Hóa" stay apart."""
    words = []
    for word in unicodedata.normalize("NFD", text.lower()).split():
        tones = "".join(ch for ch in word if ch in _TONES)
        words.append("".join(ch for ch in word if ch not in _TONES) + tones)
    return " ".join(words)
