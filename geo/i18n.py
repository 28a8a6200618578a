"""Words, numbers and dates for people, in Vietnamese (``vi``, the default) or English (``en``).

This is the one place the pages (``api/web``), the maps (``maps/``) and the texts of ``geo``
(SMS and PDF, coming next) take their wording from; it lives in ``geo`` because ``geo`` is the one
package that ``api``, ``maps`` and ``geo`` may all import (``geo`` imports neither of the others).

- Words are gettext catalogues, ``geo/locale/<lang>/LC_MESSAGES/lienxa.po``, read from the ``.po``
  at first use (no compile step). Message ids are keys (``login.title``,
  ``error.unknown_commune``), never sentences; code and templates hold keys only. The entry for an
  error's ``code`` is ``error.<code>``, worded with the error's ``params`` (``str.format`` fields).
- Numbers and dates are Babel's, for the locales ``vi_VN`` and ``en``; times are shown in
  Vietnam's time (Asia/Ho_Chi_Minh).

Messages are found by ``pybabel extract`` in the templates' ``_('key')``, and in the code's
``N_('key')`` (a key looked up later) and ``say(request_or_lang, 'key', ...)`` calls
(:data:`EXTRACT_KEYWORDS`). Refreshing the catalogues after a template or the code gains one::

    pybabel extract -F babel.cfg -k say:2 -o geo/locale/lienxa.pot .
    pybabel update -i geo/locale/lienxa.pot -d geo/locale -D lienxa --no-fuzzy-matching

then fill the new ``msgstr`` of both languages (tests/maps/test_i18n.py fails while one is
empty).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, parse_pattern
from babel.support import Translations

#: The languages of the catalogues; the first is the default.
LANGS = ("vi", "en")
DEFAULT_LANG = "vi"
#: Babel's locale for each language.
LOCALES = {"vi": "vi_VN", "en": "en"}
#: Where times are shown: Vietnam's time.
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "lienxa"
#: Dates and times as Vietnamese readers write them, on both languages' pages (20/07/2025 08:05).
DAY_FORMAT = "dd/MM/yyyy"
DATETIME_FORMAT = "dd/MM/yyyy HH:mm"

#: The calls ``pybabel extract`` reads message keys from (its defaults, and ``say``'s 2nd argument).
EXTRACT_KEYWORDS: dict[str, Any] = {"_": None, "gettext": None, "N_": None, "say": (2,)}

_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")


def N_(key: str) -> str:
    """Mark a message key for extraction (``pybabel extract``) where it is looked up later."""
    return key


def language(lang: str | None) -> str:
    """``lang`` if it is one of :data:`LANGS`, else the default (Vietnamese)."""
    return lang if lang in LANGS else DEFAULT_LANG


def catalogue_path(lang: str) -> Path:
    """The ``.po`` file of ``lang``."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> Translations:
    """The catalogue of ``lang`` (the default language's for another), read from its ``.po``.

    Raises
    ------
    FileNotFoundError
        The ``.po`` file is missing (a broken checkout).
    """
    lang = language(lang)
    with catalogue_path(lang).open("rb") as f:
        catalog = read_po(f, locale=LOCALES[lang], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def gettext(lang: str, key: str) -> str:
    """The text of ``key`` in ``lang``; the key itself when the catalogue lacks it."""
    return str(translations(lang).gettext(key))


def has_text(lang: str, key: str) -> bool:
    """Whether the catalogue of ``lang`` words ``key``."""
    return gettext(lang, key) != key


def say(lang: str, key: str, /, **params: Any) -> str:
    """The text of ``key`` in ``lang`` with its ``{fields}`` filled from ``params``."""
    return gettext(lang, key).format(**params)


def error_text(lang: str, code: str, params: Mapping[str, Any], fallback: str) -> str:
    """An error worded from its ``code`` and ``params`` (catalogue entry ``error.<code>``);
    ``fallback`` (the English message) when the catalogue has no entry for the code or the
    entry needs a parameter the error does not carry."""
    key = f"error.{code}"
    if not has_text(lang, key):
        return fallback
    try:
        return gettext(lang, key).format(**params)
    except (KeyError, IndexError, ValueError, TypeError):
        return fallback


def labels(lang: str, keys: Mapping[str, str]) -> dict[str, str]:
    """``{value: text}`` for a table ``{value: message key}`` (statuses, roles, ...)."""
    return {value: gettext(lang, key) for value, key in keys.items()}


#: a whole number with thousands grouped; a fraction with one decimal (parsed once: a map writes
#: thousands of numbers)
_WHOLE = parse_pattern("#,##0")
_FRACTION = parse_pattern("#,##0.0")


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[language(lang)])


def number(x: float | None, lang: str = DEFAULT_LANG) -> str:
    """A number as the reader writes it: ``1.556`` and ``12,5`` in Vietnamese, ``1,556`` and
    ``12.5`` in English (one decimal for a fraction); ``?`` for a missing number."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    pattern = _WHOLE if float(x).is_integer() else _FRACTION
    return str(format_decimal(x, format=pattern, locale=_locale(lang)))


_TYPED = parse_pattern("0.######")


def typed_number(x: float, lang: str = DEFAULT_LANG) -> str:
    """A number as typed into a form field: no thousands separator, the language's decimal
    sign, no trailing zeros (``45``, ``12,5`` in Vietnamese)."""
    return str(format_decimal(x, format=_TYPED, locale=_locale(lang)))


#: Catalogue units (written in Vietnamese); ``amount.<unit>`` words a quantity of each.
UNITS = {
    "người": N_("amount.người"),
    "lít": N_("amount.lít"),
    "kg": N_("amount.kg"),
    "bao": N_("amount.bao"),
    "tấm": N_("amount.tấm"),
    "bộ": N_("amount.bộ"),
    "chiếc": N_("amount.chiếc"),
    "cái": N_("amount.cái"),
}


def amount(quantity: float, unit: str | None, lang: str = DEFAULT_LANG) -> str:
    """A quantity with its unit in the reader's language: ``16.525 lít``, ``16,525 L``, and
    ``3`` for three boats in English (a count of things needs no unit there)."""
    n = number(quantity, lang)
    if unit in UNITS:
        return say(lang, UNITS[unit], n=n).strip()
    return f"{n} {unit or ''}".strip()


def unit_label(unit: str | None, lang: str = DEFAULT_LANG) -> str:
    """The unit alone as :func:`amount` writes it after a number (``L``; empty for a count)."""
    if unit in UNITS:
        return say(lang, UNITS[unit], n="").strip()
    return unit or ""


def per_resource(
    quantities: Mapping[str, float],
    labels: Mapping[str, str],
    units: Mapping[str, str],
    lang: str = DEFAULT_LANG,
) -> str:
    """Quantities of different resources, never added together:
    ``nước uống: 30.680 lít; bạt: 168 tấm``."""
    return "; ".join(
        f"{labels.get(k, k)}: {amount(q, units.get(k), lang)}" for k, q in quantities.items()
    )


def date_time(value: dt.datetime | None, lang: str = DEFAULT_LANG) -> str:
    """``dd/mm/yyyy HH:MM`` in Vietnam's time; a naive time is taken as UTC; empty for none."""
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return str(
        format_datetime(aware, DATETIME_FORMAT, tzinfo=TIMEZONE, locale=LOCALES[language(lang)])
    )


def day(value: Any, lang: str = DEFAULT_LANG) -> str:
    """An ISO date (``2025-07-20``, or the date part of a timestamp) as ``20/07/2025``; anything
    else as it is (empty for none)."""
    text = "" if value is None else str(value)
    m = _ISO_DAY.fullmatch(text)
    if m is None:
        return text
    try:
        d = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:  # 2025-02-30: no such day, its parts turned round as they are
        return f"{m.group(3)}/{m.group(2)}/{m.group(1)}"
    return str(format_date(d, DAY_FORMAT, locale=LOCALES[language(lang)]))


#: Request and offer statuses as a reader sees them (pages and maps).
STATUSES = {
    "open": N_("status.open"),
    "fulfilled": N_("status.fulfilled"),
    "cancelled": N_("status.cancelled"),
    "offered": N_("status.offered"),
    "accepted": N_("status.accepted"),
    "declined": N_("status.declined"),
    "dispatched": N_("status.dispatched"),
    "arrived": N_("status.arrived"),
}
#: The four pillars of the "4 on-site" resources (pages and maps).
PILLARS = {
    "forces": N_("pillar.forces"),
    "means": N_("pillar.means"),
    "materials": N_("pillar.materials"),
    "logistics": N_("pillar.logistics"),
}

# fmt: off
#: The error codes the catalogues word (``error.<code>``, with the error's ``params``); an
#: error with another code is shown in its English message.
ERRORS = (
    N_("error.unknown_commune"),  # {commune}
    N_("error.unknown_resource"),  # {resource}
    N_("error.quantity_not_integer"),  # {value}
    N_("error.quantity_too_large"),  # {quantity}, {max}
    N_("error.duplicate_row"),  # {commune}, {resource}, {first_line}
    N_("error.wrong_field_count"),  # {count}
    N_("error.bad_header"),  # {header}
    N_("error.empty_inventory"),
    N_("error.not_utf8"),  # {byte}
    N_("error.file_not_found"),  # {path}
    N_("error.inventory_invalid"),  # {count}
    N_("error.rules_invalid"),  # {count}
    N_("error.date_invalid"),  # {value}
    N_("error.self_link"),  # {commune}
    N_("error.valid_to_before_valid_from"),  # {valid_from}, {valid_to}
    N_("error.travel_minutes_invalid"),  # {value}
    N_("error.unknown_rule_type"),  # {type}
    N_("error.over_offer"),  # {quantity}, {remaining}
    N_("error.over_stock"),  # {quantity}, {available}
    N_("error.wrong_credentials"),
    N_("error.too_many_attempts"),  # {minutes}
    N_("error.token_revoked"),
    N_("error.unknown_province"),  # {province}
    N_("error.user_not_found"),
    N_("error.wrong_old_password"),
    N_("error.below_home_reserve"),  # {quantity}, {left}, {keep}
    N_("error.database_unavailable"),  # {retry_after}
    N_("error.database_busy"),  # {retry_after}
    # the other codes geo/ and api/ raise, each worded from its params (several to a line;
    # tests/fast/test_error_catalogue.py holds every code raised to an entry in both languages)
    N_("error.bad_request"), N_("error.bad_input"), N_("error.invalid_input"),
    N_("error.not_authenticated"), N_("error.forbidden"), N_("error.not_found"),
    N_("error.conflict"), N_("error.bad_boundaries"), N_("error.bad_graph_input"),
    N_("error.needs_profile_invalid"), N_("error.plan_invalid"), N_("error.rule_invalid"),
    N_("error.scenario_invalid"), N_("error.affected_entry_invalid"),
    N_("error.affected_not_a_list"), N_("error.below_minimum"), N_("error.closed_link_invalid"),
    N_("error.closed_links_not_a_list"), N_("error.commune_code_invalid"),
    N_("error.commune_listed_twice"), N_("error.extent_needs_boundaries"),
    N_("error.extent_not_geojson"), N_("error.extent_not_lonlat"), N_("error.extent_not_polygons"),
    N_("error.hazard_invalid"), N_("error.name_invalid"), N_("error.needs_invalid"),
    N_("error.no_affected"), N_("error.not_an_integer"), N_("error.risk_level_out_of_range"),
    N_("error.scenario_not_an_object"), N_("error.too_many_affected"), N_("error.not_an_object"),
    N_("error.commune_not_string"), N_("error.commitments_invalid"),
    N_("error.commitment_commune_not_string"), N_("error.commitment_not_a_party"),
    N_("error.factor_invalid"), N_("error.duplicate_rule_id"), N_("error.rules_contradict"),
    N_("error.rules_not_a_list"), N_("error.rules_empty"), N_("error.link_not_usable"),
    N_("error.rule_not_found"), N_("error.rule_retired"), N_("error.rule_already_retired"),
    N_("error.reason_required"), N_("error.reason_too_long"), N_("error.reasons_differ"),
    N_("error.file_unreadable"), N_("error.invalid_syntax"), N_("error.file_required"),
    N_("error.invalid_json"), N_("error.scenario_not_object"), N_("error.profile_not_a_mapping"),
    N_("error.provinces_invalid"), N_("error.profile_layer_invalid"), N_("error.ratio_invalid"),
    N_("error.catalogue_not_a_list"), N_("error.catalogue_key_missing"), N_("error.unknown_pillar"),
    N_("error.share_out_of_range"), N_("error.max_hops_invalid"), N_("error.at_not_a_date"),
    N_("error.unknown_method"), N_("error.solver_failed"), N_("error.plan_json_invalid"),
    N_("error.no_plan_yet"), N_("error.several_boundaries_files"), N_("error.boundaries_not_found"),
    N_("error.not_geodata"), N_("error.no_geometry_column"), N_("error.unknown_column_mapping"),
    N_("error.column_not_in_file"), N_("error.no_crs"), N_("error.no_features"),
    N_("error.no_code_column"), N_("error.no_name_column"), N_("error.features_without_code"),
    N_("error.code_malformed"), N_("error.duplicate_codes"), N_("error.empty_geometry"),
    N_("error.non_polygon_geometry"), N_("error.invalid_geometry"), N_("error.empty_after_repair"),
    N_("error.graph_needs_lonlat"), N_("error.graph_codes_not_unique"),
    N_("error.tolerance_negative"), N_("error.incident_not_found"), N_("error.incident_not_active"),
    N_("error.affected_outside_area"), N_("error.regions_invalid"),
    N_("error.reserve_item_malformed"), N_("error.reserve_default_key"),
    N_("error.reserve_repeated"), N_("error.outside_area"), N_("error.not_your_commune"),
    N_("error.role_required"), N_("error.area_required"), N_("error.commune_required"),
    N_("error.unknown_role"), N_("error.unknown_region"), N_("error.region_exists"),
    N_("error.user_exists"), N_("error.unknown_or_disabled_user"), N_("error.invalid_token"),
    N_("error.token_expired"), N_("error.csrf"), N_("error.csrf_failed"),
    N_("error.password_invalid"), N_("error.password_too_short"), N_("error.body_too_large"),
    N_("error.idempotency_key_invalid"), N_("error.idempotency_key_reused"),
    N_("error.idempotency_key_mismatch"), N_("error.invalid_request"),
    N_("error.request_not_found"), N_("error.request_not_open"), N_("error.request_not_yours"),
    N_("error.not_addressed"), N_("error.own_request"), N_("error.self_request"),
    N_("error.already_declined"), N_("error.quantity_not_positive"), N_("error.offer_not_found"),
    N_("error.offer_not_yours"), N_("error.illegal_transition"), N_("error.unknown_action"),
    N_("error.unknown_urgency"), N_("error.inventory_row_missing"), N_("error.below_reserved"),
    # coordination regulations (geo/regulation.py, api/services/regulations.py) and exercises
    N_("error.regulation_invalid"), N_("error.regulation_unknown_field"),
    N_("error.regulation_field_missing"), N_("error.regulation_value_invalid"),
    N_("error.regulation_quantity_invalid"), N_("error.regulation_not_a_party"),
    N_("error.regulation_parties_too_few"), N_("error.regulation_parties_not_linked"),
    N_("error.regulation_not_found"), N_("error.regulation_not_draft"),
    N_("error.regulation_retired"), N_("error.regulation_field_readonly"),
    N_("error.exercise_invalid"),
    N_("error.commune_name_ambiguous"), N_("error.commune_name_unknown"),  # {name} ({count})
    # drafting a province's regulations (api/services/regulation_drafts.py)
    N_("error.draft_area_required"), N_("error.draft_too_many_communes"),  # {count, max}
    # pydantic's validation problem types (api/errors.py validation_problems: ctx as params)
    N_("error.missing"), N_("error.extra_forbidden"), N_("error.string_type"),
    N_("error.string_too_short"), N_("error.string_pattern_mismatch"), N_("error.int_type"),
    N_("error.int_parsing"), N_("error.int_from_float"), N_("error.float_type"),
    N_("error.float_parsing"), N_("error.bool_parsing"), N_("error.greater_than"),
    N_("error.greater_than_equal"), N_("error.less_than"), N_("error.less_than_equal"),
    N_("error.too_short"), N_("error.too_long"), N_("error.enum"), N_("error.literal_error"),
    N_("error.list_type"), N_("error.dict_type"), N_("error.model_attributes_type"),
    N_("error.json_invalid"), N_("error.date_parsing"), N_("error.date_from_datetime_parsing"),
    N_("error.datetime_parsing"), N_("error.datetime_from_date_parsing"), N_("error.value_error"),
    # printed documents (api/documents)
    N_("error.document_too_large"), N_("error.document_invalid"),
    # SMS and phones (geo/sms.py, api/services/sms_in.py, api/routes/sms.py)
    N_("error.phone_invalid"), N_("error.phone_taken"), N_("error.sms_empty"),
    N_("error.sms_too_long"), N_("error.sms_unknown_command"), N_("error.sms_arguments"),
    N_("error.sms_not_a_number"), N_("error.sms_leader_only"), N_("error.sms_report_unavailable"),
    N_("error.sms_no_incident"),
    N_("error.sms_secret_wrong"),
    # plans out of the write transaction, named asks, outdated requests (branch asks)
    N_("error.plan_time_limit"), N_("error.plan_inputs_changed"),
    N_("error.addressee_unreachable"),
    # incidents from the commune and situation reports
    N_("error.leader_own_commune_only"),  # {commune}
    N_("error.incident_not_nearby"),  # {incident_id}, {commune}
    N_("error.note_too_long"),  # {max}
    N_("error.card_over_spare"),  # {helper}, {committed}, {resource}, {level}, {spare}: a warning
)
# fmt: on
