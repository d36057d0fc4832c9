"""Province-scale benchmark (issue 13): every page in Chromium from a fresh server, one status update, memory.

    python bench/scale.py                              # 100 000 sites, GeoPackage and PostGIS (10–15 min, 2 cores)
    python bench/scale.py --sites 20000 --backends gpkg
    python bench/scale.py --quick                      # 5 000 sites: does the bench itself work? (~3 min)

For each backend it measures two stores in the same run: the shipped demo (copied; ``data/`` is never
written) and a synthetic province built by :mod:`geo.synth` (96 townships, 400 rivers, 24 reservoirs,
600 sampling points; ``--sites`` sites with about 1.6 status events each; readings scale with the
sites, 1.25 M at 100 000, unless ``--readings`` says otherwise). PostGIS stores live in a throwaway
cluster (fsync on, as in production; ``tests/pg.py``) and are filled with ``python -m geo copy`` from
the GeoPackage, as a bureau moving to PostGIS would.

Per store:

1. a fresh ``streamlit run app.py`` (``QINGSHAN_STORE`` set) and a fresh Chromium (Debian's, via
   Playwright; never downloaded);
2. each page (``/``, ``/wall``, ``/patrol``, ``/buffer``, ``/progress``, ``/water``, ``/data``) opened
   in turn, as a user typing its address: the time from navigation until the page has settled —
   the script is no longer running, no element is stale or a skeleton, and every map frame has
   drawn (a Leaflet container with layers, or a canvas) — held for ``SETTLE_HOLD`` seconds; the time
   reported is when that first held. A page showing a Streamlit exception is reported as failed;
3. the server's resident memory after every page (current and peak, from ``/proc``);
4. the server is stopped, then ``python -m geo status … --set`` (a whole process, as an inspector's
   script would run it) is timed on ``--repeat`` operating farms; the median is reported.

The table printed at the end (Markdown, for the README) gives each figure on the demo and on the
province, with the ratio, and the issue's goals with a verdict. Every wait is bounded
(``--page-timeout``, server start, subprocess timeouts).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEMO = ROOT / "data" / "demo.gpkg"
PAGES = ["/", "/wall", "/patrol", "/buffer", "/progress", "/water", "/data"]
PAGE_NAMES = {"/": "`/` first load", "/wall": "`/wall`", "/patrol": "`/patrol`", "/buffer": "`/buffer`",
              "/progress": "`/progress`", "/water": "`/water`", "/data": "`/data`"}
SETTLE_HOLD = 1.0  # seconds a page must stay settled
POLL = 0.2
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
# Goals of issue 13 (measured here, not in timed tests).
GOAL_PAGE_RATIO, GOAL_UPDATE_RATIO, GOAL_MEMORY_MB = 2.0, 1.5, 2048

# The main document: is the Streamlit script done and the page drawn?
PAGE_STATE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return {state: 'no-app'};
  const exc = Array.from(document.querySelectorAll('[data-testid="stException"]'))
      .map(e => e.innerText.slice(0, 300));
  return {
    state: app.getAttribute('data-test-script-state'),
    connection: app.getAttribute('data-test-connection-state'),
    running: !!document.querySelector('[data-testid="stStatusWidgetRunningIcon"],'
                                      + '[data-testid="stStatusWidgetRunningManIcon"]'),
    stale: document.querySelectorAll('[data-stale="true"]').length,
    skeleton: document.querySelectorAll('[data-testid="stSkeleton"], .stAppSkeleton').length,
    elements: document.querySelectorAll('[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]').length,
    iframes: Array.from(document.querySelectorAll('iframe')).map(f => (f.srcdoc || '').length),
    exceptions: exc,
  };
}"""
# One iframe: has its map drawn? ("none" when the frame holds no map)
FRAME_STATE_JS = """() => {
  if (document.readyState !== 'complete') return 'loading';
  const leaflet = document.querySelector('.leaflet-container');
  if (leaflet) {
    const drawn = document.querySelectorAll('.leaflet-overlay-pane *, .leaflet-marker-pane *, '
                                            + '.leaflet-pane canvas, .leaflet-tile-loaded').length;
    return drawn > 0 ? 'map' : 'pending';
  }
  const canvas = Array.from(document.querySelectorAll('canvas')).some(c => c.width > 0 && c.height > 0);
  return canvas ? 'map' : 'none';
}"""


def log(msg: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def run(cmd: list[str], timeout: float, env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``cmd`` from the project root; its wall time and result (raises on a non-zero exit)."""
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    took = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])}… exited {res.returncode}:\n{res.stderr[-3000:]}")
    return took, res


# --- stores ---------------------------------------------------------------------------------------

def build_province(path: Path, sites: int, readings: int) -> float:
    """Build the synthetic province at ``path`` in a child process (so this one stays small); seconds."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from geo import synth; "
            "synth.write(sys.argv[2], sites=int(sys.argv[3]), readings=int(sys.argv[4]))")
    took, _ = run([python(), "-c", code, str(ROOT), str(path), str(sites), str(readings)], timeout=3600)
    return took


def copy_store(src: str, dst: str) -> float:
    took, _ = run([python(), "-m", "geo", "copy", src, dst], timeout=3600)
    return took


def operating_farms(spec: str, n: int) -> tuple[list[str], str]:
    """``n`` farm ids that are operating, spread over the table, and the store's ``as_of`` date."""
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); from geo.store import open_store; "
            "s = open_store(sys.argv[2]); f = s.read('farms'); ids = f.loc[f['status'] == 'operating', 'id'].tolist(); "
            "k = int(sys.argv[3]); step = max(len(ids) // (k + 1), 1); "
            "print(json.dumps({'ids': ids[step::step][:k], 'as_of': s.meta().get('as_of', '')}))")
    _, res = run([python(), "-c", code, str(ROOT), spec, str(n)], timeout=600)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return out["ids"], out["as_of"] or dt.date.today().isoformat()


def time_status(spec: str, ids: list[str], as_of: str) -> list[float]:
    """Whole-process ``geo status --set`` on each farm of ``ids`` (closed on ``as_of``); seconds each."""
    times = []
    for fid in ids:
        took, _ = run([python(), "-m", "geo", "status", "--store", spec, "--layer", "farms", "--id", fid,
                       "--set", "closed", "--on", as_of, "--note", "bench/scale.py", "--user", "bench"], timeout=600)
        times.append(took)
    return times


# --- server and browser ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(spec: str, logfile: Path, timeout: float = 180.0):
    """A fresh ``streamlit run app.py`` against ``spec``; yields (process, base URL)."""
    port = free_port()
    cmd = [python(), "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    with open(logfile, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "QINGSHAN_STORE": spec}, stdout=out,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode}; see {logfile}")
                try:
                    with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s; see {logfile}")
                time.sleep(0.3)
            yield proc, url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(15)


def memory_mb(pid: int) -> tuple[float, float]:
    """Current and peak resident memory of process ``pid`` (MB), from ``/proc/PID/status``."""
    fields = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


def chromium() -> str:
    path = os.environ.get("QINGSHAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")
    return path


def page_settled(page) -> tuple[bool, dict]:
    """Whether ``page`` has settled now, and what was seen (exceptions, map frames, iframe sizes)."""
    try:
        s = page.evaluate(PAGE_STATE_JS)
    except Exception as exc:  # noqa: BLE001 - navigation in progress: not settled
        return False, {"error": str(exc)[:200]}
    if s.get("state") != "notRunning" or s.get("running") or s.get("stale") or s.get("skeleton") \
            or not s.get("elements"):
        return False, s
    maps, pending = 0, 0
    for frame in page.frames[1:]:
        try:
            st = frame.evaluate(FRAME_STATE_JS)
        except Exception:  # noqa: BLE001 - a frame being replaced
            pending += 1
            continue
        maps += st == "map"
        pending += st in ("loading", "pending")
    if len(page.frames) - 1 < len(s.get("iframes", [])):
        pending += 1  # an iframe element whose frame is not attached yet
    s["maps"] = maps
    return pending == 0, s


def time_page(page, url: str, timeout: float) -> dict:
    """Open ``url`` and wait until the page settles; the time, or why not."""
    t0 = time.perf_counter()
    try:
        page.goto(url, wait_until="commit", timeout=timeout * 1000)
    except Exception as exc:  # noqa: BLE001
        return {"seconds": None, "error": f"navigation failed: {exc}"[:300]}
    first_ok, last = None, {}
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        ok, last = page_settled(page)
        now = time.perf_counter()
        if last.get("exceptions") and last.get("state") == "notRunning":
            return {"seconds": None, "error": "Streamlit exception: " + " | ".join(last["exceptions"])[:300]}
        if ok:
            first_ok = first_ok or now
            if now - first_ok >= SETTLE_HOLD:
                return {"seconds": first_ok - t0, "maps": last.get("maps", 0),
                        "map_mb": sum(last.get("iframes", [])) / 1e6}
        else:
            first_ok = None
        time.sleep(POLL)
    return {"seconds": None, "error": f"not settled after {timeout:.0f} s (last state: {json.dumps(last)[:200]})"}


def bench_store(label: str, spec: str, args, workdir: Path) -> dict:
    """Every page from a fresh server and browser, memory after them, then the status updates."""
    from playwright.sync_api import sync_playwright

    result: dict = {"label": label, "pages": {}}
    log(f"{label}: starting a fresh server")
    with server(spec, workdir / f"streamlit-{label}.log") as (proc, url):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
            try:
                ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
                page = ctx.new_page()
                for path in args.pages:
                    r = time_page(page, url + path, args.page_timeout)
                    result["pages"][path] = r
                    if args.screenshots:  # to check by eye what "settled" looked like
                        args.screenshots.mkdir(parents=True, exist_ok=True)
                        page.screenshot(path=str(args.screenshots / f"{label}{path.replace('/', '_')}.png"))
                    shown = f"{r['seconds']:.1f} s" if r["seconds"] is not None else f"FAILED: {r['error']}"
                    log(f"{label}: {path:<10} {shown}")
                ctx.close()
            finally:
                browser.close()
        rss, peak = memory_mb(proc.pid)
        result["rss_mb"], result["peak_mb"] = rss, peak
        log(f"{label}: server memory {rss:.0f} MB now, {peak:.0f} MB peak")
    ids, as_of = operating_farms(spec, args.repeat)
    times = time_status(spec, ids, as_of) if ids else []
    result["status_runs"] = times
    result["status"] = statistics.median(times) if times else None
    log(f"{label}: geo status " + ", ".join(f"{t:.2f} s" for t in times))
    return result


def merge(rounds: list[dict]) -> dict:
    """One result from several rounds on the same store: medians of times, the largest memory."""
    if len(rounds) == 1:
        return rounds[0]
    out = {"label": rounds[0]["label"], "pages": {}, "rounds": rounds}
    for path in rounds[0]["pages"]:
        runs = [r["pages"][path] for r in rounds]
        ok = [r for r in runs if r["seconds"] is not None]
        if len(ok) < len(runs):  # a page that fails once fails
            out["pages"][path] = next(r for r in runs if r["seconds"] is None)
            continue
        out["pages"][path] = {"seconds": statistics.median(r["seconds"] for r in ok),
                              "map_mb": max(r.get("map_mb") or 0 for r in ok), "runs": [r["seconds"] for r in ok]}
    out["rss_mb"] = max(r["rss_mb"] for r in rounds)
    out["peak_mb"] = max(r["peak_mb"] for r in rounds)
    times = [t for r in rounds for t in r["status_runs"]]
    out["status_runs"], out["status"] = times, statistics.median(times) if times else None
    return out


# --- report -----------------------------------------------------------------------------------------

def _fmt(v, unit="s", digits=1) -> str:
    return "—" if v is None else f"{v:.{digits}f} {unit}"


def _ratio(a, b) -> str:
    return "—" if a is None or b is None or not a else f"{b / a:.1f}×"


def report(results: dict, args, info: dict) -> str:
    backends = [b for b in args.backends if (b, "demo") in results]
    names = {"gpkg": "GeoPackage", "postgis": "PostGIS"}
    head = ["what"]
    for b in backends:
        head += [f"demo {names[b]}", f"province {names[b]}", "ratio"]
    rows = []
    for path in args.pages:
        row = [PAGE_NAMES.get(path, path) + " until settled"]
        for b in backends:
            d, pv = results[(b, "demo")]["pages"][path], results[(b, "province")]["pages"][path]
            row += [_fmt(d["seconds"]) if d["seconds"] is not None else "**fails**",
                    _fmt(pv["seconds"]) if pv["seconds"] is not None else "**fails**",
                    _ratio(d["seconds"], pv["seconds"])]
        rows.append(row)
    row = ["one `geo status` update, whole process"]
    for b in backends:
        d, pv = results[(b, "demo")]["status"], results[(b, "province")]["status"]
        row += [_fmt(d, digits=2), _fmt(pv, digits=2), _ratio(d, pv)]
    rows.append(row)
    for key, what in (("rss_mb", "server memory after every page"), ("peak_mb", "server peak memory")):
        row = [what]
        for b in backends:
            d, pv = results[(b, "demo")][key], results[(b, "province")][key]
            row += [_fmt(d, "MB", 0), _fmt(pv, "MB", 0), _ratio(d, pv)]
        rows.append(row)
    row = ["largest map HTML on a page"]
    for b in backends:
        sizes = [max((r.get("map_mb") or 0) for r in results[(b, s)]["pages"].values()) for s in ("demo", "province")]
        row += [_fmt(sizes[0], "MB", 2), _fmt(sizes[1], "MB", 2), _ratio(*sizes)]
    rows.append(row)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    # Goals of issue 13.
    goals = []
    for b in backends:
        d, pv = results[(b, "demo")], results[(b, "province")]
        failed = [p for p in args.pages if pv["pages"][p]["seconds"] is None or d["pages"][p]["seconds"] is None]
        slow = [p for p in args.pages if p not in failed
                and pv["pages"][p]["seconds"] > GOAL_PAGE_RATIO * d["pages"][p]["seconds"]]
        upd = pv["status"] is not None and d["status"] and pv["status"] <= GOAL_UPDATE_RATIO * d["status"]
        mem = pv["peak_mb"] < GOAL_MEMORY_MB
        goals.append(f"- {names[b]}: pages ≤ {GOAL_PAGE_RATIO:g}× demo: "
                     + ("met" if not failed and not slow else
                        "NOT met (" + ", ".join([f"{p} fails" for p in failed] + [f"{p} slower" for p in slow]) + ")")
                     + f"; update ≤ {GOAL_UPDATE_RATIO:g}× demo: {'met' if upd else 'NOT met'}"
                     + f"; server memory < {GOAL_MEMORY_MB / 1024:g} GB: {'met' if mem else 'NOT met'}"
                     + f" ({pv['peak_mb']:.0f} MB peak)")
    text = [f"Province: {info['province']}",
            f"Machine: {info['machine']}, load average {info['load']}; run {info['when']}, commit {info['commit']}; "
            f"{args.rounds} round(s), {args.repeat} update(s) per store",
            f"Build: {info['build']}", "", *lines, "", "Goals (issue 13):", *goals]
    errors = [f"- {names[b]} {s} {p}: {r['error']}" for (b, s), res in results.items()
              for p, r in res["pages"].items() if r.get("error")]
    if errors:
        text += ["", "Failures:", *errors]
    return "\n".join(text)


def machine() -> str:
    mem = "?"
    with contextlib.suppress(OSError):
        with open("/proc/meminfo") as fh:
            mem = f"{int(fh.readline().split()[1]) / 1024 / 1024:.0f} GB RAM"
    return f"{os.cpu_count()} cores, {mem}"


def load() -> str:
    """The 1-minute load average (other work on the machine slows every figure)."""
    with contextlib.suppress(OSError):
        return f"{os.getloadavg()[0]:.1f}"
    return "?"


def commit() -> str:
    with contextlib.suppress(Exception):
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out + ("+changes" if dirty else "")
    return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sites", type=int, default=None, help="sites in the province (default 100000; --quick 5000)")
    ap.add_argument("--readings", type=int, default=None, help="readings (default 12.5 per site: 1.25 M at 100 000)")
    ap.add_argument("--backends", default="gpkg,postgis", help="comma list of gpkg, postgis")
    ap.add_argument("--pages", default=",".join(PAGES), help="comma list of page paths")
    ap.add_argument("--repeat", type=int, default=None, help="status updates timed per store (median; default 3)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure each store this many times, each from a fresh server (medians; default 1)")
    ap.add_argument("--page-timeout", type=float, default=None, help="seconds a page may take (default 300)")
    ap.add_argument("--quick", action="store_true", help="small province, one update per store: checks the bench")
    ap.add_argument("--keep", type=Path, default=None,
                    help="folder to keep (and reuse) the province GeoPackage in, instead of a temporary one")
    ap.add_argument("--screenshots", type=Path, default=None,
                    help="save a screenshot of every page the moment it counted as settled, into this folder")
    ap.add_argument("--json", type=Path, default=None, help="also write every figure as JSON to this file")
    args = ap.parse_args(argv)
    args.sites = args.sites or (5000 if args.quick else 100_000)
    args.readings = args.readings or int(round(args.sites * 12.5))
    args.repeat = max(args.repeat or (1 if args.quick else 3), 1)
    args.page_timeout = args.page_timeout or (120.0 if args.quick else 300.0)
    args.rounds = max(args.rounds, 1)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = set(args.backends) - {"gpkg", "postgis"}
    if unknown:
        ap.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if not DEMO.exists():
        raise SystemExit(f"the demo store {DEMO} is missing: python -m geo demo")

    workdir = Path(tempfile.mkdtemp(prefix="qingshan-scale-"))
    logdir = Path(tempfile.mkdtemp(prefix="qingshan-scale-logs-"))
    log(f"server logs in {logdir}")
    results: dict = {}
    info = {"load": load(), "machine": machine(), "when": f"{dt.datetime.now():%Y-%m-%d %H:%M}", "commit": commit()}
    try:
        store_dir = args.keep or workdir
        store_dir.mkdir(parents=True, exist_ok=True)
        province = store_dir / f"province-{args.sites}-{args.readings}.gpkg"
        if province.exists() and args.keep:
            log(f"reusing {province}")
            build = f"reused {province.name}"
        else:
            log(f"building the province ({args.sites} sites, {args.readings} readings)")
            build = f"province GeoPackage built in {build_province(province, args.sites, args.readings):.0f} s"
        log(build)
        counts = _counts(str(province))
        info["province"] = ", ".join(f"{n:,} {t}" for t, n in counts.items())
        for backend in args.backends:
            specs = {}
            with contextlib.ExitStack() as stack:
                for name, src in (("demo", DEMO), ("province", province)):
                    gpkg = workdir / f"{name}-{backend}.gpkg"
                    shutil.copyfile(src, gpkg)  # each run writes (status updates): never into the source
                    specs[name] = str(gpkg)
                if backend == "postgis":
                    from tests.pg import PostgisUnavailable, new_database, throwaway_cluster

                    try:
                        url = stack.enter_context(throwaway_cluster(durable=True))
                    except PostgisUnavailable as exc:
                        log(f"PostGIS skipped: {exc}")
                        continue
                    for name in specs:
                        db = new_database(url, f"bench_{name}")
                        took = copy_store(specs[name], db)
                        log(f"{name}: geo copy into PostGIS in {took:.0f} s")
                        build += f"; {name} copied into PostGIS in {took:.0f} s"
                        specs[name] = db
                for name, spec in specs.items():
                    rounds = [bench_store(f"{name}-{backend}", spec, args, logdir) for _ in range(args.rounds)]
                    results[(backend, name)] = merge(rounds)
        info["build"] = build
        info["load"] += f" at the start, {load()} at the end"
        text = report(results, args, info)
        print(text, flush=True)
        if args.json:
            args.json.write_text(json.dumps({"info": info, "results": {f"{b}/{s}": r for (b, s), r in results.items()}},
                                            ensure_ascii=False, indent=1), encoding="utf-8")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _counts(spec: str) -> dict:
    code = ("import sys, json, pyogrio; p = sys.argv[1]; "
            "print(json.dumps({n: int(pyogrio.read_info(p, layer=n)['features']) for n, _ in pyogrio.list_layers(p)}))")
    _, res = run([python(), "-c", code, spec], timeout=300)
    counts = json.loads(res.stdout.strip().splitlines()[-1])
    order = ["townships", "rivers", "waterbodies", "enterprises", "kilns", "farms", "sampling_points", "readings",
             "status_events"]
    return {t: counts[t] for t in order if t in counts}


if __name__ == "__main__":
    sys.exit(main())
