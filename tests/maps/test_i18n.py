"""The catalogues (geo/locale, shared by the maps and the pages) word every message the
templates and the code use, in Vietnamese and English; numbers, quantities and dates are Babel's
for vi_VN and en; errors are worded from their code."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from geo import i18n
from geo.errors import LienXaError, Problem
from geo.i18n import amount, number
from geo.i18n import day as vn_day
from geo.i18n import number as vn_number
from tests.conftest import REPO


def used_messages(root: Path) -> dict[str, list[str]]:
    """Every message key the templates and code under ``root`` use (as ``pybabel extract -F
    babel.cfg -k say:2`` finds them), with where each is used."""
    with (root / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    used: dict[str, list[str]] = {}
    for filename, lineno, message, _, _ in extract_from_dir(
        root, method_map, options_map, keywords=i18n.EXTRACT_KEYWORDS
    ):
        key = message if isinstance(message, str) else message[0]
        used.setdefault(key, []).append(f"{filename}:{lineno}")
    return used


def untranslated(used: dict[str, list[str]], po: Path) -> list[str]:
    """The keys of ``used`` that the catalogue ``po`` leaves without a text (a fuzzy one is not
    used at run time either)."""
    with po.open("rb") as f:
        catalog = read_po(f)
    return sorted(
        f"{key} ({', '.join(where)})"
        for key, where in used.items()
        if key not in catalog or not catalog[key].string or catalog[key].fuzzy
    )


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture(scope="module")
def used() -> dict[str, list[str]]:
    return used_messages(REPO)


def test_extraction_finds_templates_code_and_error_codes(used):
    assert "login.title" in used  # a template's _('…')
    assert "errpage.403.title" in used  # the code's say(request, '…')
    assert "status.dispatched" in used and "map.population" in used  # N_('…') tables
    assert {
        f"error.{code}" for code in ("unknown_commune", "over_offer", "too_many_attempts")
    } <= set(used)


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_message_in_use_has_a_translation(used, lang):
    missing = untranslated(used, i18n.catalogue_path(lang))
    assert missing == [], f"no {lang} text in {i18n.catalogue_path(lang)} for: {missing}"


def test_a_template_message_without_translation_is_found(tmp_path):
    """The check above can fail: a template using a key the catalogue lacks is reported."""
    (tmp_path / "babel.cfg").write_text(
        "[jinja2: **.html]\nextensions = jinja2.ext.i18n\n[python: **.py]\n"
    )
    (tmp_path / "page.html").write_text("<p>{{ _('login.title') }} {{ _('page.brand_new') }}</p>")
    (tmp_path / "code.py").write_text("say(request, 'code.brand_new')\n")
    used = used_messages(tmp_path)
    missing = untranslated(used, i18n.catalogue_path("vi"))
    assert [m.split(" ")[0] for m in missing] == ["code.brand_new", "page.brand_new"]


def test_both_languages_word_the_same_keys_with_the_same_fields():
    catalogs = {}
    for lang in i18n.LANGS:
        with i18n.catalogue_path(lang).open("rb") as f:
            catalogs[lang] = {m.id: m.string for m in read_po(f) if m.id}
    assert set(catalogs["vi"]) == set(catalogs["en"])
    for key, vi in catalogs["vi"].items():
        assert fields(vi) == fields(catalogs["en"][key]), key


def test_every_catalogue_entry_is_used(used):
    with i18n.catalogue_path("vi").open("rb") as f:
        keys = {m.id for m in read_po(f) if m.id}
    assert keys - set(used) == set()


def test_the_pages_words_are_kept():
    assert i18n.gettext("vi", "login.title") == "Đăng nhập"
    assert i18n.gettext("en", "login.title") == "Log in"
    assert i18n.say("vi", "queue.waiting_many", n=3).startswith("Mất kết nối: 3 biểu mẫu")
    assert i18n.gettext("en", "no.such.key") == "no.such.key"


def test_vietnamese_number_format():
    assert vn_number(1234567) == "1.234.567"
    assert vn_number(12.5) == "12,5"
    assert vn_number(None) == "?"


def test_numbers_and_amounts_in_the_readers_language():
    assert (
        number(1556, "vi") == "1.556"
        and number(1556, "en") == "1,556"
        and number(12.5, "en") == "12.5"
    )
    assert amount(16525, "lít") == "16.525 lít" and amount(16525, "lít", "en") == "16,525 L"
    assert amount(3, "chiếc", "en") == "3"
    assert number(1138, "vi") == "1.138" and number(1138, "en") == "1,138"
    assert number(float("nan")) == "?"
    assert amount(7, "thùng", "en") == "7 thùng"  # a unit the catalogue does not know: as it is


def test_numbers_as_typed_into_a_form():
    assert i18n.typed_number(45.0) == "45" and i18n.typed_number(12.5) == "12,5"
    assert i18n.typed_number(1200.0) == "1200"  # no separator to be read back as a decimal


def test_vietnamese_date_format():
    assert vn_day("2025-07-20") == "20/07/2025"
    assert vn_day("2025-07-20T08:00:00+07:00") == "20/07/2025"
    assert vn_day(None) == "" and vn_day("") == ""
    assert vn_day("soon") == "soon"


def test_times_are_shown_in_vietnam_time_in_both_languages():
    import datetime as dt

    utc = dt.datetime(2025, 7, 20, 23, 30, tzinfo=dt.UTC)
    assert i18n.date_time(utc, "vi") == "21/07/2025 06:30"
    assert i18n.date_time(utc, "en") == "21/07/2025 06:30"
    assert i18n.date_time(utc.replace(tzinfo=None)) == "21/07/2025 06:30"  # naive is UTC
    assert i18n.date_time(None) == ""


def test_errors_are_worded_from_their_code_and_params():
    e = LienXaError("unknown commune '99999'", code="unknown_commune", params={"commune": "99999"})
    assert i18n.error_text("vi", e.code, e.params, e.message) == "không có xã mã '99999'"
    assert i18n.error_text("en", e.code, e.params, e.message) == "unknown commune '99999'"
    p = Problem(
        "duplicate_row", "…", params={"commune": "16702", "resource": "boats", "first_line": 2}
    )
    assert (
        i18n.error_text("vi", p.code, p.params, p.message)
        == "trùng dòng 16702/boats (lần đầu ở dòng 2)"
    )


def test_an_error_without_wording_or_params_is_its_english_message():
    assert i18n.error_text("vi", "some_new_code", {}, "request 4 is cancelled") == (
        "request 4 is cancelled"
    )
    # the entry needs {minutes}: without it the message is shown as it is
    assert i18n.error_text("vi", "too_many_attempts", {}, "too many failed logins") == (
        "too many failed logins"
    )


def test_every_agreed_code_has_a_wording():
    for key in i18n.ERRORS:
        for lang in i18n.LANGS:
            assert i18n.has_text(lang, key), (lang, key)
    assert all(re.fullmatch(r"error\.[a-z0-9_]+", k) for k in i18n.ERRORS)
