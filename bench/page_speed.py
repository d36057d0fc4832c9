"""Page speed of the dashboard against a minimal streamlit-folium page, in Debian's Chromium (issue 25).

    python bench/page_speed.py [--runs 5] [--pages overview,patrol] [--skip pages,3g,plan,cli]

Serves ``app.py`` and ``bench/minimal_page.py`` (the yardstick: streamlit + streamlit-folium drawing the
demo's townships, rivers and sites with plain folium) on one private copy of ``data/demo.gpkg``, the way
``tests/browser.py`` serves the app, and drives ``/usr/bin/chromium`` (or ``$QINGSHAN_CHROMIUM``) with
Playwright. Four parts:

pages
    For every page of ``app.py``: the time from ``page.goto`` to the page's main content (the readiness
    rule of :data:`READY`, checked every 50 ms), ``--runs`` runs, median. Each run is a new tab of one
    browser (a new Streamlit session; the browser's cache and the server's caches are warm after one
    uncounted warm-up visit of every page, which is also reported: ``cold``). Runs alternate with the
    minimal page's, so the ratio to it is taken against the same machine state.
3g
    ``/inspect`` at a phone's 390×844 in a FRESH browser (empty cache), throttled by the DevTools protocol
    (``Network.emulateNetworkConditions``: 1.6 Mbit/s down, 750 kbit/s up, 150 ms RTT): bytes over the
    wire (HTTP ``encodedDataLength`` plus websocket frames), requests, and the time to the first usable
    control (the 登录 button drawn and enabled, then the 巡查 chooser).
plan
    ``/patrol`` with its defaults (2 teams, sampling + committed enterprises, 5 s solver budget): the time
    from the click on 生成巡查路线 to the result drawn (the per-team summary and the route map).
cli
    The same plan as a whole process, ``python -m geo route ... --teams 2``, and in-process
    (:func:`geo.patrol.plan_from_store`) with its quality: total working time of the teams (travel +
    service), stops dropped.

Timings only; nothing is asserted (speed is measured here, never in tests).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM_ARGS  # noqa: E402
from tests.browser import serve as browser_serve  # noqa: E402

MINIMAL = ROOT / "bench" / "minimal_page.py"

# -- what "main content ready" means on each page ------------------------------------------------

#: JS run in every frame: a Leaflet map whose overlay pane holds its drawn layers (canvas or SVG) and has a size.
MAP_DRAWN = """() => { const c = document.querySelector('.leaflet-container');
  const pane = c && c.querySelector('.leaflet-overlay-pane');
  return !!(c && c.getBoundingClientRect().width > 0 && pane && pane.querySelector('canvas, svg')); }"""


def _visible(selector: str, text: str | None = None) -> str:
    """JS predicate of the main document: an element matching ``selector`` (containing ``text``) is drawn."""
    t = "null" if text is None else repr(text)
    return f"""() => [...document.querySelectorAll({selector!r})].some(e => {{
      const r = e.getBoundingClientRect(); const t = {t};
      return r.width > 0 && r.height > 0 && (t === null || e.innerText.includes(t)) && !e.disabled; }})"""


#: A drawn glide-data-grid (st.dataframe): its canvas has a size.
DATAFRAME = _visible('[data-testid="stDataFrame"] canvas')
#: page url path -> (what "ready" means, predicate on the main document or None, the map must be drawn)
READY = {
    "": ("overview map drawn", None, True),
    "wall": ("wall map drawn", None, True),
    "progress": ("township map drawn", None, True),
    "buffer": ("riverside map drawn", None, True),
    "water": ("water map drawn", None, True),
    "patrol": ("生成巡查路线 button enabled", _visible("button", "生成巡查路线"), False),
    "complaints": ("complaints map drawn", None, True),
    "inspect": ("登录 button enabled", _visible("button", "登录"), False),
    "site?layer=enterprises&id=E001": ("facts table drawn", DATAFRAME, False),
    "assess": ("scores table drawn", DATAFRAME, False),
    "data": ("first tab's content drawn", _visible('[data-testid="stTabPanel"] [data-testid="stElementContainer"]'),
             False),
}
MINIMAL_READY = ("streamlit-folium map drawn", None, True)


def app_pages() -> list[str]:
    """The url paths of ``app.py``'s PAGES (read from the source: importing it would start a Streamlit run)."""
    import re

    paths = re.findall(r'st\.Page\("views/\w+\.py".*?url_path="([^"]*)"', (ROOT / "app.py").read_text("utf-8"))
    return [next((k for k in READY if k.split("?")[0] == p), p) for p in paths]


# -- serving ------------------------------------------------------------------------------------

def serve(script: Path, store: Path, env: dict | None = None, timeout: float = 90.0):
    """``streamlit run script`` on a free port against ``store``, served as the browser tests serve app.py."""
    return browser_serve(store, env=env, timeout=timeout, script=script)


def chromium() -> str:
    path = os.environ.get("QINGSHAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")
    return path


# -- measuring ------------------------------------------------------------------------------------

def _map_drawn(page) -> bool:
    for frame in page.frames:
        try:
            if frame.evaluate(MAP_DRAWN):
                return True
        except Exception:  # a frame navigating or detached
            pass
    return False


def wait_ready(page, rule, t0: float, timeout: float = 90.0) -> float:
    """Seconds from ``t0`` until ``rule`` (an entry of :data:`READY`) holds, polled every 50 ms."""
    _, predicate, needs_map = rule
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        try:
            ok = (predicate is None or page.evaluate(predicate)) and (not needs_map or _map_drawn(page))
        except Exception:
            ok = False
        if ok:
            return time.perf_counter() - t0
        time.sleep(0.05)
    raise TimeoutError(f"not ready within {timeout:.0f} s: {rule[0]}")


def visit(ctx, url: str, rule) -> float:
    page = ctx.new_page()
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        return wait_ready(page, rule, t0)
    finally:
        page.close()


def measure_pages(browser, app_url: str, minimal_url: str, pages: list[str], runs: int) -> list[dict]:
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    cold = {p: visit(ctx, f"{app_url}/{p}", READY[p]) for p in pages}
    cold["minimal"] = visit(ctx, minimal_url, MINIMAL_READY)
    times: dict[str, list[float]] = {p: [] for p in [*pages, "minimal"]}
    for _ in range(runs):
        for p in pages:
            times[p].append(visit(ctx, f"{app_url}/{p}", READY[p]))
            times["minimal"].append(visit(ctx, minimal_url, MINIMAL_READY))
    ctx.close()
    base = statistics.median(times["minimal"])
    rows = []
    for p in [*pages, "minimal"]:
        med = statistics.median(times[p])
        rows.append({"page": "/" + p.split("?")[0] if p != "minimal" else "minimal page",
                     "ready when": (READY.get(p) or MINIMAL_READY)[0], "cold s": cold[p], "median s": med,
                     "min s": min(times[p]), "max s": max(times[p]), "x minimal": med / base})
    return rows


def measure_3g(browser, app_url: str) -> dict:
    """/inspect on a throttled link in a fresh browser context (nothing cached)."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                              has_touch=True)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    seen = {"requests": 0, "bytes": 0, "ws": 0}
    cdp.on("Network.requestWillBeSent", lambda e: seen.__setitem__("requests", seen["requests"] + 1))
    cdp.on("Network.loadingFinished", lambda e: seen.__setitem__("bytes", seen["bytes"] + e["encodedDataLength"]))
    cdp.on("Network.webSocketFrameReceived",
           lambda e: seen.__setitem__("ws", seen["ws"] + len(e["response"]["payloadData"])))
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 150,
                                                 "downloadThroughput": 1_600_000 / 8,
                                                 "uploadThroughput": 750_000 / 8})
    t0 = time.perf_counter()
    page.goto(f"{app_url}/inspect", wait_until="commit")
    t_login = wait_ready(page, READY["inspect"], t0, timeout=180)
    at_login = dict(seen)
    t_chooser = wait_ready(page, ("巡查 chooser", _visible('[data-testid="stSelectbox"]'), False), t0, timeout=180)
    # then let the rest of the page (its table) arrive: until no new request for 3 s
    last, quiet = dict(seen), time.perf_counter()
    while time.perf_counter() - quiet < 3 and time.perf_counter() - t0 < 240:
        time.sleep(0.25)
        if seen != last:
            last, quiet = dict(seen), time.perf_counter()
    ctx.close()
    return {"login s": t_login, "chooser s": t_chooser, "requests at login": at_login["requests"],
            "MB at login": (at_login["bytes"] + at_login["ws"]) / 1e6, "requests": last["requests"],
            "MB": (last["bytes"] + last["ws"]) / 1e6, "of which websocket MB": last["ws"] / 1e6}


def measure_plan(browser, app_url: str, runs: int) -> list[float]:
    """Click 生成巡查路线 on /patrol (defaults: 2 teams) and time until the summary and route map are drawn."""
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    out = []
    for k in range(runs + 1):  # the first is a warm-up
        page = ctx.new_page()
        page.goto(f"{app_url}/patrol", wait_until="commit")
        wait_ready(page, READY["patrol"], time.perf_counter())
        teams = page.get_by_label("巡查组数")
        if teams.input_value() != "2":
            teams.fill("2")
            teams.press("Enter")
        t0 = time.perf_counter()
        page.get_by_role("button", name="生成巡查路线").click()
        wait_ready(page, ("summary and route map drawn", _visible("h3", "各组安排"), True), t0, timeout=120)
        if k:
            out.append(time.perf_counter() - t0)
        page.close()
    ctx.close()
    return out


def measure_cli(store: Path, runs: int) -> dict:
    """The plan as a whole process (python -m geo route) and in-process, with its quality."""
    out = Path(tempfile.mkdtemp()) / "plan.gpx"
    cmd = [sys.executable, "-m", "geo", "route", "--store", str(store), "--select", "sampling,committed",
           "--teams", "2", "--out", str(out)]
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
    from geo import patrol
    from geo.store import open_store

    plans = []
    for _ in range(runs):
        t0 = time.perf_counter()
        plan = patrol.plan_from_store(open_store(str(store)), ["sampling", "committed"],
                                      params=patrol.PatrolParams(teams=2))
        plans.append((time.perf_counter() - t0, plan))
    work = [float(p.teams["hours"].sum()) * 60 for _, p in plans]
    return {"process s": statistics.median(walls), "in-process s": statistics.median([s for s, _ in plans]),
            "solver s": statistics.median([p.solver_seconds for _, p in plans]),
            "work min": statistics.median(work), "dropped": int(plans[0][1].stops["dropped"].sum()),
            "stops": len(plans[0][1].stops)}


# -- report ---------------------------------------------------------------------------------------

def table(rows: list[dict]) -> str:
    cols = list(rows[0])
    cell = [[f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]) for c in cols] for r in rows]
    width = [max(len(c), *(len(x[i]) for x in cell)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, width))]
    lines += ["  ".join(x.ljust(w) for x, w in zip(line, width)) for line in cell]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pages", default="", help="comma list of url paths (default: every page of app.py; "
                                                 "'overview' for the root page)")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: pages, 3g, plan, cli")
    args = ap.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    pages = app_pages()
    if args.pages:
        wanted = {"" if p == "overview" else p for p in args.pages.split(",")}
        pages = [p for p in pages if p.split("?")[0] in wanted]
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="page-speed-"))
    store = work / "demo.gpkg"
    shutil.copyfile(ROOT / "data" / "demo.gpkg", store)
    with serve(ROOT / "app.py", store) as app_url, serve(MINIMAL, store) as minimal_url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
        if "pages" not in skip:
            print(f"Pages: time to main content, {args.runs} runs, median (s)")
            print(table(measure_pages(browser, app_url, minimal_url, pages, args.runs)), flush=True)
        if "3g" not in skip:
            print("\n/inspect first load, 3G-like (1.6 Mbit/s down, 750 kbit/s up, 150 ms RTT), empty cache")
            print(table([measure_3g(browser, app_url)]), flush=True)
        if "plan" not in skip:
            t = measure_plan(browser, app_url, args.runs)
            print(f"\n/patrol two-team plan, click to result drawn: median {statistics.median(t):.2f} s "
                  f"(min {min(t):.2f}, max {max(t):.2f}, {len(t)} runs)", flush=True)
        browser.close()
    if "cli" not in skip:
        print("\nTwo-team plan (sampling + committed), python -m geo route and in-process, median")
        print(table([measure_cli(store, args.runs)]))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
