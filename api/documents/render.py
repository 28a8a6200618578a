"""The administrative-document layout (Decree 30/2020/NĐ-CP) as a Jinja2 template and a print
stylesheet, rendered to A4 PDF by WeasyPrint with Liberation Serif (Times New Roman's metrics)
embedded.

Rendering is bounded: every table is cut at :data:`MAX_ROWS` rows (the sheet says how many more
the online record holds), a document larger than its renderer accepts is refused with
:class:`DocumentTooLarge` before any layout work, and at most :data:`RENDER_SLOTS` documents are
laid out at once (WeasyPrint is CPU-bound; callers run it off the event loop, in a thread).
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import segno
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from api.errors import BadInput
from geo import i18n
from geo.i18n import N_
from geo.resources import load_catalogue

#: Rows printed per table; the rest is counted in a line under the table.
MAX_ROWS = 60
#: Documents laid out at the same time in one process (the others wait their turn).
RENDER_SLOTS = 2
_slots = threading.BoundedSemaphore(RENDER_SLOTS)
TEMPLATES = Path(__file__).resolve().parent / "templates"

T = TypeVar("T")


class DocumentTooLarge(BadInput):
    """A document with more of something (parties, cards, rows) than can be printed sensibly."""

    default_code = "document_too_large"

    def __init__(self, what: str, count: int, limit: int) -> None:
        super().__init__(
            f"the document has {count} {what}, more than the {limit} a printed document holds",
            code="document_too_large",
            field=what,
            params={"what": what, "count": count, "max": limit},
        )


class DocumentInvalid(BadInput):
    """A document missing something it must say (a regulation without number or parties)."""

    default_code = "document_invalid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            f"{field}: {reason}",
            code="document_invalid",
            field=field,
            params={"field": field, "reason": reason},
        )


def check_count(what: str, items: Sequence[Any], limit: int) -> None:
    """Refuse a document holding more than ``limit`` ``what``.

    Raises
    ------
    DocumentTooLarge
        ``len(items) > limit``.
    """
    if len(items) > limit:
        raise DocumentTooLarge(what, len(items), limit)


def capped(rows: Sequence[T], limit: int = MAX_ROWS) -> tuple[list[T], int]:
    """The first ``limit`` rows and how many were left out."""
    return list(rows[:limit]), max(0, len(rows) - limit)


def long_date(value: dt.date | None, lang: str) -> str:
    """A date as Decree 30 writes it: ``ngày 25 tháng 7 năm 2025`` (a day below 10 and the
    months 1 and 2 with a leading zero), in English ``25 July 2025``; dotted blanks to fill in
    by hand for none (a document still to sign)."""
    if value is None:
        return i18n.gettext(lang, N_("doc.date_blank"))
    if i18n.language(lang) == "vi":
        month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    else:
        month = str(format_date(value, "MMMM", locale="en"))
    return i18n.say(lang, "doc.date", day=f"{value.day:02d}", month=month, year=value.year)


def place_of(full_name: str) -> str:
    """The place name of a commune's document: ``Xã Con Cuông`` → ``Con Cuông``."""
    for prefix in ("Xã ", "Phường ", "Đặc khu ", "Thị trấn "):
        if full_name.startswith(prefix):
            return full_name[len(prefix) :]
    return full_name


#: The centrally-run cities (thành phố trực thuộc trung ương) among the 34 provinces since 2025.
CITIES = frozenset({"Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "Huế"})


def province_title(name: str) -> str:
    """A province as a heading names it: ``Nghệ An`` → ``Tỉnh Nghệ An``, ``Huế`` → ``Thành phố
    Huế``; a name that already says which it is, as it is."""
    if not name or name.startswith(("Tỉnh ", "Thành phố ")):
        return name
    return f"Thành phố {name}" if name in CITIES else f"Tỉnh {name}"


def qr_data_uri(url: str) -> str:
    """A QR code of ``url`` as an SVG data URI (drawn by segno; no network, no image file)."""
    svg = segno.make(url, error="m").svg_inline(scale=3, border=1)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


class Words:
    """Resources as a document names them in ``lang``: catalogue labels and amounts with units
    (a key the catalogue lacks prints as it is)."""

    def __init__(self, lang: str) -> None:
        self.lang = i18n.language(lang)
        self.catalogue = load_catalogue()

    def label(self, resource: str) -> str:
        """``boats`` → ``xuồng, ca nô`` (``boats`` in English)."""
        r = self.catalogue.get(resource)
        if r is None:
            return resource
        return r.label_vi if self.lang == "vi" else r.label_en

    def amount(self, quantity: float, resource: str) -> str:
        """``3 chiếc`` for 3 boats, ``16.525 lít`` of water."""
        r = self.catalogue.get(resource)
        return i18n.amount(quantity, None if r is None else r.unit, self.lang)

    def resources(self, items: object) -> str:
        """``{"militia": 50, "boats": 4}`` → ``dân quân: 50 người; xuồng, ca nô: 4 chiếc``."""
        if not isinstance(items, Mapping):
            return "" if items is None else str(items)
        return "; ".join(f"{self.label(k)}: {self.amount(q, k)}" for k, q in items.items())


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )

    @pass_context
    def _gettext(ctx: Context, key: str) -> str:
        return i18n.gettext(ctx.get("lang", i18n.DEFAULT_LANG), key)

    @pass_context
    def _ngettext(ctx: Context, singular: str, plural: str, n: int) -> str:
        lang = ctx.get("lang", i18n.DEFAULT_LANG)
        return str(i18n.translations(lang).ngettext(singular, plural, n))

    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
    env.filters["num"] = pass_context(
        lambda ctx, x: i18n.number(x, ctx.get("lang", i18n.DEFAULT_LANG))
    )
    env.filters["upper_vi"] = lambda s: str(s).upper()
    return env


_env = _environment()


def render_html(template: str, context: Mapping[str, Any], *, lang: str) -> str:
    """The document's HTML: ``template`` (which extends ``document.html``) in ``lang``."""
    lang = i18n.language(lang)
    stylesheet = (TEMPLATES / "print.css").read_text(encoding="utf-8")
    return _env.get_template(template).render({**context, "lang": lang, "stylesheet": stylesheet})


def html_to_pdf(html: str) -> bytes:
    """``html`` laid out on A4 by WeasyPrint, fonts embedded (subsets of Liberation Serif),
    waiting for a free render slot. Blocking and CPU-bound: call it from a thread."""
    from weasyprint import HTML  # imported on first use: it loads Pango and fontconfig
    from weasyprint.urls import URLFetcher

    # a document embeds what it shows (the QR code as a data URI): it fetches no file and no
    # address, whatever text the records hold
    fetcher = URLFetcher(allowed_protocols={"data"})
    with _slots:
        doc = HTML(string=html, base_url=str(TEMPLATES), url_fetcher=fetcher)
        return bytes(doc.write_pdf())


def render_pdf(template: str, context: Mapping[str, Any], *, lang: str) -> bytes:
    """:func:`render_html` then :func:`html_to_pdf`."""
    return html_to_pdf(render_html(template, context, lang=lang))
