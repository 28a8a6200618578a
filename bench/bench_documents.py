"""Benchmark: time to render a commune's order sheet and a coordination regulation to PDF
(WeasyPrint), interleaved with a baseline, the same layout with nothing in it (an order sheet of
no rows), so the figure separates the fixed cost of a page from what the rows add.

Run: ``.venv/bin/python bench/bench_documents.py [--rounds 15]``; writes
bench/results/documents.json (median and spread, wall and CPU seconds, PDF size and pages).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from api.documents import OrderLine, OrderSheet, render_order_pdf, render_regulation_pdf
from api.documents.orders import RequestLine, UnmetLine

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ("boats", "militia", "life_jackets", "sandbags", "rice_kg", "drinking_water_l")
CODES = [f"{17200 + k}" for k in range(40)]
NAMES = {c: f"Xã Thử Nghiệm {k}" for k, c in enumerate(CODES)}
NAMES["17254"] = "Xã Con Cuông"
HOME = "17254"


def order_sheet(rows: int) -> OrderSheet:
    """A sheet with ``rows`` received, ``rows`` sent, ``rows // 2`` unmet and ``rows`` requests
    (``rows=0``: the baseline, the layout alone)."""

    def line(k: int) -> OrderLine:
        other = CODES[k % len(CODES)]
        return OrderLine(
            RESOURCES[k % len(RESOURCES)], 10 + k, other, (other, CODES[(k + 1) % 40], HOME), 35.0
        )

    return OrderSheet(
        incident_id=3,
        incident_name="Lũ quét miền Tây Nghệ An",
        risk_level=3,
        commune=HOME,
        plan_id=12,
        receives=tuple(line(k) for k in range(rows)),
        sends=tuple(line(k + 100) for k in range(rows)),
        unmet=tuple(UnmetLine(RESOURCES[k % 6], 5 + k, "Tỉnh Nghệ An") for k in range(rows // 2)),
        requests=tuple(
            RequestLine(k + 1, k % 2 == 0, RESOURCES[k % 6], 20 + k, (CODES[k % 40],), k)
            for k in range(rows)
        ),
        commander="Chủ tịch UBND xã Con Cuông",
        issued_on=dt.date(2025, 7, 25),
        url="http://127.0.0.1:8000/commune?code=17254&incident=3",
    )


def regulation(cards: int) -> dict:
    parties = [HOME, *CODES[:3]]
    return {
        "id": 1,
        "number": "01/QCPH-CC",
        "title": "Quy chế phối hợp phòng, chống thiên tai giữa các xã liền kề",
        "parties": parties,
        "status": "signed",
        "signed_on": "2025-07-25",
        "valid_from": "2025-08-01",
        "valid_to": "2027-07-31",
        "fields": ["disaster_response", "recovery", "economic_development", "staff_secondment"],
        "activities": ["Trao đổi kinh nghiệm trồng rừng"],
        "box_cards": [
            {
                "hazard": "flood",
                "level": 1 + k % 3,
                "from": parties[k % 4],
                "to": parties[(k + 1) % 4],
                "order": 1 + k % 2,
                "resources": {RESOURCES[k % 6]: 10 + k},
                "within_minutes": 30 + k,
            }
            for k in range(cards)
        ],
        "backfill": [{"helper": parties[k], "covered_by": parties[(k + 2) % 4]} for k in range(4)],
        "rationale": "Liền kề, đi lại dưới 60 phút, không ngập cùng kịch bản.",
    }


def pages(pdf: bytes) -> int | None:
    """The page count as poppler's ``pdfinfo`` reads it (None without poppler-utils)."""
    if shutil.which("pdfinfo") is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        info = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True).stdout
    return next((int(x.split()[1]) for x in info.splitlines() if x.startswith("Pages:")), None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    cases: dict[str, Callable[[], bytes]] = {
        "baseline_empty_order": lambda: render_order_pdf(
            order_sheet(0), names=NAMES, province="Tỉnh Nghệ An"
        ),
        "order_20_rows_each": lambda: render_order_pdf(
            order_sheet(20), names=NAMES, province="Tỉnh Nghệ An"
        ),
        "regulation_4_parties_36_cards": lambda: render_regulation_pdf(
            regulation(36), names=NAMES, province="Tỉnh Nghệ An"
        ),
    }
    for make in cases.values():  # warm-up: Pango, fontconfig, the templates
        make()
    wall: dict[str, list[float]] = {k: [] for k in cases}
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    out: dict[str, bytes] = {}
    for _ in range(args.rounds):  # interleaved: A, B, C, A, B, C, ...
        for name, make in cases.items():
            w, c = time.perf_counter(), time.process_time()
            out[name] = make()
            wall[name].append(time.perf_counter() - w)
            cpu[name].append(time.process_time() - c)

    def stats(xs: list[float]) -> dict[str, float]:
        q = statistics.quantiles(xs, n=4)
        return {
            "median": round(statistics.median(xs), 4),
            "p25": round(q[0], 4),
            "p75": round(q[2], 4),
            "min": round(min(xs), 4),
            "max": round(max(xs), 4),
        }

    results = {
        name: {
            "wall_s": stats(wall[name]),
            "cpu_s": stats(cpu[name]),
            "pdf_kb": round(len(out[name]) / 1024, 1),
            "pages": pages(out[name]),
        }
        for name in cases
    }
    report = {
        "what": "PDF render time (WeasyPrint, Liberation Serif embedded), interleaved rounds",
        "command": f".venv/bin/python bench/bench_documents.py --rounds {args.rounds}",
        "rounds": args.rounds,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "results": results,
    }
    path = ROOT / "bench" / "results" / "documents.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
