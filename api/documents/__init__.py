"""Printed documents in the layout of Decree 30/2020/NĐ-CP: the order sheet of one commune
(:mod:`api.documents.orders`) and a coordination regulation (:mod:`api.documents.regulation`),
rendered to PDF by WeasyPrint (:mod:`api.documents.render`).

They live in ``api/`` and not in ``geo/``: a document is a way of showing records to people, like
a page, made with a template engine and a PDF library that the pure domain has no use for. Nothing
here touches the database: each renderer takes typed records or the CONTRACT JSON and returns
bytes, so the service, the command line and the tests all call the same functions.
"""

from __future__ import annotations

from api.documents.orders import OrderLine, OrderSheet, build_order_sheet, render_order_pdf
from api.documents.regulation import render_regulation_pdf
from api.documents.render import DocumentInvalid, DocumentTooLarge

__all__ = [
    "DocumentInvalid",
    "DocumentTooLarge",
    "OrderLine",
    "OrderSheet",
    "build_order_sheet",
    "render_order_pdf",
    "render_regulation_pdf",
]
