"""Benchmark: map page weight (gzipped), build time, and time to first render in headless
Chromium; baseline: geopandas' ``explore()`` of the same file, in the same run.

Run: ``.venv/bin/python bench/bench_maps.py [--no-browser]``; writes bench/results/maps.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from geo.adjacency import build_graph
from geo.boundaries import load_boundaries
from geo.needs import load_scenario
from geo.planning import make_plan
from geo.resources import sample_inventory
from maps.builders import commune_map, incident_map, overview_map, rules_map
from maps.simplify import DisplayCache

# the packages come from the project's install (bash scripts/setup installs it editable)
ROOT = Path(__file__).resolve().parent.parent

SHARED = ROOT.parent / "shared" / "data"


def weigh(build, repeat: int = 3) -> dict:
    times, html = [], ""
    for _ in range(repeat):
        t = time.perf_counter()
        html = build().get_root().render()
        times.append(time.perf_counter() - t)
    return {
        "build_s": round(statistics.median(times), 3),
        "html_kb": round(len(html.encode()) / 1024, 1),
        "gzip_kb": round(len(gzip.compress(html.encode(), 6)) / 1024, 1),
    }, html


def first_render(url_html: dict[str, str]) -> dict[str, float]:
    """Milliseconds from navigation to the polygons' canvas being drawn, per page, served from a
    local static server with the offline Leaflet next to it."""
    import http.server
    import socketserver
    import threading

    from playwright.sync_api import sync_playwright

    from maps.offline import LEAFLET_DIST

    root = Path(tempfile.mkdtemp(prefix="lienxa-maps-"))
    shutil.copytree(LEAFLET_DIST, root / "static/vendor/leaflet")
    for name, html in url_html.items():
        (root / f"{name}.html").write_text(html, encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):
            pass

    httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    out = {}
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        for name in url_html:
            runs = []
            for _ in range(3):
                page = b.new_page(viewport={"width": 1280, "height": 900})
                page.route(
                    "**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort()
                )
                t = time.perf_counter()
                page.goto(f"{base}/{name}.html", wait_until="commit")
                page.wait_for_selector(
                    ".leaflet-overlay-pane canvas, .leaflet-overlay-pane svg path",
                    state="attached",
                    timeout=120000,
                )
                page.evaluate(
                    "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
                )
                runs.append((time.perf_counter() - t) * 1000)
                page.close()
            out[name] = round(statistics.median(runs), 1)
        b.close()
    httpd.shutdown()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    results: dict = {"maps": {}}
    pages: dict[str, str] = {}

    gdf = load_boundaries(SHARED / "boundaries/nghe-an-2025.geojson")
    G = build_graph(gdf)
    cache = DisplayCache(gdf)
    communes, provinces = cache.get()
    sc = load_scenario(SHARED / "scenarios/nghe-an-western-floods.json", gdf=gdf)
    plan = make_plan(G, sc, sample_inventory(gdf))
    t = time.perf_counter()
    base = gdf.explore().get_root().render()
    results["explore_baseline_nghe_an"] = {
        "build_s": round(time.perf_counter() - t, 3),
        "html_kb": round(len(base.encode()) / 1024, 1),
        "gzip_kb": round(len(gzip.compress(base.encode(), 6)) / 1024, 1),
    }
    builds = {
        "overview-nghe-an": lambda: overview_map(
            communes, provinces, risk={a.commune: 3 for a in sc.affected}
        ),
        "incident-nghe-an": lambda: incident_map(
            communes, provinces, G, scenario=sc.to_dict(), plan=plan
        ),
        "commune-17254": lambda: commune_map(
            communes, G, "17254", inventory={"items": {"boats": 6}}
        ),
        "rules-nghe-an": lambda: rules_map(
            communes,
            provinces,
            G,
            [{"type": "agreement", "a": "17248", "b": "17254", "document": "15/QC-UBND"}],
        ),
    }
    for name, build in builds.items():
        results["maps"][name], pages[name] = weigh(build)
    gdf_vn = load_boundaries(SHARED / "boundaries/vietnam-2025.gpkg")
    cache_vn = DisplayCache(gdf_vn)
    t = time.perf_counter()
    c_vn, p_vn = cache_vn.get()
    results["nationwide_display_geometry_s"] = round(time.perf_counter() - t, 2)
    results["maps"]["overview-vietnam"], pages["overview-vietnam"] = weigh(
        lambda: overview_map(c_vn, p_vn), repeat=1
    )
    results["targets"] = {"overview-nghe-an_gzip_kb_max": 400, "overview-vietnam_gzip_kb_max": 3072}
    results["ratio_explore_to_overview_nghe_an"] = round(
        results["explore_baseline_nghe_an"]["gzip_kb"]
        / results["maps"]["overview-nghe-an"]["gzip_kb"],
        1,
    )
    if not args.no_browser:
        results["first_render_ms"] = first_render(pages)
    out = ROOT / "bench/results/maps.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
