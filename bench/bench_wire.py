"""Benchmark: the pages and maps on an emulated slow link (3G: 400 kbit/s, 400 ms round trip),
with compression off (before) and on (after), in headless Chromium.

Two real servers on one seeded SQLite database, on the Nghệ An boundaries, with the shared
scenario as an incident with its plan: one with ``LIENXA_COMPRESSION=0``, one as shipped. Each
round loads, in a fresh browser context (a first visit: empty cache, no service worker), the
commune page (as Con Cuông's leader), the command page (as the province's command), and the
overview, incident and commune maps, on both servers, the order of the servers alternating
round by round (interleaved A/B). The link is emulated with CDP
``Network.emulateNetworkConditions`` (latency 400 ms, 400 kbit/s down and up).

Recorded per load: bytes on the wire (the sum of ``encodedDataLength`` of every response,
headers included, iframes included), time until usable (a page: ``DOMContentLoaded``, when its
forms are interactive, app.js being the last thing in the body; a map: its polygons painted on
the canvas), and ``load``. Reported: median and spread (min-max) per page and mode, and the
servers' CPU seconds.

Run: ``.venv/bin/python bench/bench_wire.py [--rounds 3]``; writes ``bench/results/wire.json``.
Targets (issue 14): commune page usable < 3 s, incident map < 5 s, commune page < 60 KB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import write_results  # noqa: E402  # the one results writer

LINK = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
        "uploadThroughput": 400_000 / 8}  # fmt: skip
TARGETS = {"commune page": {"usable_s": 3.0, "kb": 60}, "incident map": {"usable_s": 5.0}}
MAP_PAINTED = """() => {
  const c = document.querySelector(".leaflet-overlay-pane canvas");
  if (!c || !c.width || !c.height) return false;
  const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < px.length; i += 4 * 97) if (px[i] > 0) return true;
  return false;
}"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    import os

    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def load(browser: Any, url: str, cookie: str, path: str, is_map: bool) -> dict[str, float]:
    from api.auth import SESSION_COOKIE

    ctx = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="vi-VN", service_workers="block"
    )
    ctx.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": url}])
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", LINK)
    wire = [0.0]
    cdp.on(
        "Network.loadingFinished", lambda e: wire.__setitem__(0, wire[0] + e["encodedDataLength"])
    )
    page.goto(url + path, wait_until="load", timeout=60_000)
    if not page.url.endswith(path):
        raise RuntimeError(f"{path} was answered by {page.url}")
    if is_map:
        page.wait_for_function(MAP_PAINTED, timeout=60_000)
        usable = page.evaluate("performance.now()")
    else:
        page.wait_for_selector("form button", state="attached")
        usable = page.evaluate(
            "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
        )
    loaded = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    page.wait_for_load_state("networkidle", timeout=60_000)  # the lazy map iframe too
    ctx.close()
    return {"bytes": wire[0], "usable_s": usable / 1000, "load_s": loaded / 1000}


def summary(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "wire.json")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.api.conftest import PASSWORD, create_database, seed, start_server, stop_server
    from tests.conftest import SCENARIO
    from tests.web.conftest import ARGS, CHROMIUM

    tmp = Path(tempfile.mkdtemp(prefix="bench-wire-"))
    db_url, _ = create_database("sqlite", tmp)
    seed(db_url)
    servers: dict[str, Any] = {}
    for mode, env in (("before", {"LIENXA_COMPRESSION": "0"}), ("after", {})):
        (tmp / mode).mkdir()
        proc, url, _ = start_server(db_url, tmp / mode, "sqlite", extra_env=env)
        servers[mode] = (proc, url)
    try:
        url0 = servers["after"][1]
        tokens = {  # each server signs its own tokens (its own secret key)
            (mode, u): httpx.post(
                url + "/api/v1/auth/token", data={"username": u, "password": PASSWORD}
            ).json()["access_token"]
            for mode, (_, url) in servers.items()
            for u in ("conc", "bchqs")
        }
        h = {"Authorization": f"Bearer {tokens['after', 'bchqs']}"}
        incident = httpx.post(
            url0 + "/api/v1/incidents", headers=h, json=json.loads(SCENARIO.read_text())
        ).json()["id"]
        httpx.post(url0 + f"/api/v1/incidents/{incident}/plan", headers=h, json={}, timeout=120)
        pages = {
            "commune page": ("conc", "/commune", False),
            "command page": ("bchqs", "/command", False),
            "overview map": ("bchqs", "/maps/overview", True),
            "incident map": ("bchqs", f"/maps/incidents/{incident}", True),
            "commune map": ("conc", "/maps/communes/17254", True),
        }
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            p: {"before": [], "after": []} for p in pages
        }
        failures: list[str] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for mode, (_, url) in servers.items():  # warm both: caches, display geometry
                for user, path, is_map in pages.values():
                    try:
                        load(browser, url, tokens[mode, user], path, is_map)
                    except Exception as exc:
                        print("warming", mode, path, "failed:", str(exc)[:120], flush=True)
            cpu0 = {m: cpu_seconds(proc.pid) for m, (proc, _) in servers.items()}
            t0 = time.perf_counter()
            for r in range(args.rounds):
                order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
                for name, (user, path, is_map) in pages.items():
                    for mode in order:
                        try:
                            got = load(browser, servers[mode][1], tokens[mode, user], path, is_map)
                        except Exception as exc:
                            failures.append(f"round {r} {name} {mode}: {str(exc)[:160]}")
                            print(failures[-1], flush=True)
                            continue
                        runs[name][mode].append(got)
                        print(f"round {r} {name:13} {mode:6} {got['bytes'] / 1024:8.1f} KB "
                              f"usable {got['usable_s']:5.2f} s", flush=True)  # fmt: skip
            wall = time.perf_counter() - t0
            browser.close()
        cpu = {m: cpu_seconds(proc.pid) - cpu0[m] for m, (proc, _) in servers.items()}
    finally:
        for proc, _ in servers.values():
            stop_server(proc)
    results: dict[str, Any] = {}
    for name, modes in runs.items():
        results[name] = {
            mode: {
                "kb_on_wire": summary([x["bytes"] / 1024 for x in xs]),
                "usable_s": summary([x["usable_s"] for x in xs]),
                "load_s": summary([x["load_s"] for x in xs]),
            }
            for mode, xs in modes.items()
            if xs
        }
    report = {
        "link": LINK,
        "rounds": args.rounds,
        "wall_s": wall,
        "server_cpu_s": cpu,
        "targets": TARGETS,
        "pages": results,
        "failures": failures,
    }
    write_results(args.out, report, echo=False)
    for name, modes in results.items():
        if len(modes) < 2:
            continue
        b, a = modes["before"], modes["after"]
        print(
            f"{name:13} before {b['kb_on_wire']['median']:7.1f} KB {b['usable_s']['median']:5.2f} s"
            f"  after {a['kb_on_wire']['median']:7.1f} KB {a['usable_s']['median']:5.2f} s"
        )


if __name__ == "__main__":
    main()
