"""Folding Vietnamese text (:mod:`geo.text`)."""

from __future__ import annotations

import unicodedata

from geo import text


def test_diacritics_and_d_bar_are_stripped():
    assert text.strip_diacritics("Châu Khê") == "Chau Khe"
    assert text.strip_diacritics("Đặc khu Trường Sa") == "Dac khu Truong Sa"
    assert text.fold("  Xã  Châu   KHÊ ") == "xa chau khe"


def test_every_nonspacing_mark_and_only_those_are_dropped():
    """The translate table gives what testing each character's category gives, for every
    character of the Basic Multilingual Plane (marks of other scripts included)."""
    every = "".join(chr(c) for c in range(1, 0x10000) if not 0xD800 <= c < 0xE000)
    decomposed = unicodedata.normalize("NFD", every.translate(text._EXTRA))
    expected = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    assert text.strip_diacritics(every) == expected


def test_each_character_category_is_looked_up_once():
    text.strip_diacritics("Hóa")
    assert text._DROP_MARKS[0x301] is None  # the acute accent, remembered as dropped
    assert text._DROP_MARKS[ord("H")] == "H"
