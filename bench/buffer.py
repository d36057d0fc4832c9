"""Benchmark of the riverside buffer check: N sites × N river segments.

    python bench/buffer.py                 # N = 100 000 (about a minute on 2 cores)
    python bench/buffer.py --n 1000000     # the national-planning case (several minutes)
    python bench/buffer.py --no-postgis --no-sjoin

Methods, each run in its own process (so peak memory is its own):

- ``ours``: :func:`geo.buffers.distance_to_water` with ``max_distance=D``
  (strip-local transverse Mercator, exact point-to-segment distances);
- ``sjoin``: the script a careful GIS user writes: project to the UTM zone,
  buffer each river by D + width/2, ``geopandas.sjoin`` the sites;
- ``postgis``: ``ST_DWithin`` on UTM geometries with GiST indexes, in a
  throwaway PostgreSQL + PostGIS cluster (skipped when none can be started).
  Loading and indexing are timed apart from the query.

Synthetic data: random river segments (50–300 m, 30 % with a width of
5–150 m) and sites spread uniformly over 114.2–119.8°E, 24.5–33.5°N (one UTM
zone, 50N, as the GIS user's script assumes). Each method's violations are
compared with ours; every site on which they disagree is re-measured with an
independent geodesic computation (``pyproj.Geod``, azimuthal equidistant at the
site) to show who is right.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BOX = (114.2, 119.8, 24.5, 33.5)  # lon0, lon1, lat0, lat1: inside UTM zone 50 (114–120°E)
UTM = 32650


# --- data -------------------------------------------------------------------------------------------

def make_data(n: int, seed: int, path: Path) -> None:
    rng = np.random.default_rng(seed)
    lon0, lon1, lat0, lat1 = BOX
    x = rng.uniform(lon0, lon1, n)
    y = rng.uniform(lat0, lat1, n)
    length = rng.uniform(50, 300, n) / 111_000
    az = rng.uniform(0, 2 * np.pi, n)
    x2 = x + length * np.sin(az) / np.cos(np.radians(y))
    y2 = y + length * np.cos(az)
    width = np.where(rng.random(n) < 0.7, 0.0, rng.uniform(5, 150, n))
    np.savez(path, seg=np.column_stack([x, y, x2, y2]), width=width,
             site=np.column_stack([rng.uniform(lon0, lon1, n), rng.uniform(lat0, lat1, n)]))


def load_frames(path: Path):
    import geopandas as gpd
    import shapely

    data = np.load(path)
    seg, site = data["seg"], data["site"]
    lines = shapely.linestrings(np.stack([seg[:, :2], seg[:, 2:]], axis=1))
    rivers = gpd.GeoDataFrame({"id": np.arange(len(seg)).astype(str), "name": "r", "width_m": data["width"]},
                              geometry=lines, crs=4326)
    sites = gpd.GeoDataFrame({"id": np.arange(len(site))}, geometry=shapely.points(site), crs=4326)
    return sites, rivers, data


# --- workers (one process each) -----------------------------------------------------------------------------

def work_ours(path: Path, distance: float) -> dict:
    import geopandas as gpd

    from geo.buffers import distance_to_water

    sites, rivers, _ = load_frames(path)
    lakes = gpd.GeoDataFrame({"id": [], "name": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    t = time.perf_counter()
    res = distance_to_water(sites, rivers, lakes, max_distance=distance)
    elapsed = time.perf_counter() - t
    hit = np.flatnonzero(res["distance_m"].notna().to_numpy())
    return {"seconds": elapsed, "ids": hit.tolist()}


def work_sjoin(path: Path, distance: float) -> dict:
    import geopandas as gpd

    sites, rivers, _ = load_frames(path)
    t = time.perf_counter()
    # What a careful GIS user writes: a metric CRS (the UTM zone), buffer by D + half width, spatial join.
    s = sites.to_crs(UTM)
    r = rivers.to_crs(UTM)
    zones = gpd.GeoDataFrame(geometry=r.buffer(distance + r["width_m"] / 2.0), crs=UTM)
    joined = gpd.sjoin(s, zones, predicate="intersects", how="inner")
    hit = np.unique(joined.index.to_numpy())
    elapsed = time.perf_counter() - t
    return {"seconds": elapsed, "ids": hit.tolist()}


def work_postgis(path: Path, distance: float, url: str) -> dict:
    import psycopg

    _, _, data = load_frames(path)
    seg, site, width = data["seg"], data["site"], data["width"]
    out: dict = {}
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        t = time.perf_counter()
        conn.execute("DROP TABLE IF EXISTS sites; DROP TABLE IF EXISTS rivers")
        conn.execute("CREATE UNLOGGED TABLE sites (id int PRIMARY KEY, lon float8, lat float8, geom geometry(Point, %d))" % UTM)
        conn.execute("CREATE UNLOGGED TABLE rivers (id int PRIMARY KEY, x1 float8, y1 float8, x2 float8, y2 float8, "
                     "width_m float8, geom geometry(LineString, %d))" % UTM)
        with conn.cursor() as cur:
            with cur.copy("COPY sites (id, lon, lat) FROM STDIN") as cp:
                for i, (a, b) in enumerate(site.tolist()):
                    cp.write_row((i, a, b))
            with cur.copy("COPY rivers (id, x1, y1, x2, y2, width_m) FROM STDIN") as cp:
                for i, (row, w) in enumerate(zip(seg.tolist(), width.tolist())):
                    cp.write_row((i, *row, w))
        conn.execute(f"UPDATE sites SET geom = ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), {UTM})")
        conn.execute(f"UPDATE rivers SET geom = ST_Transform(ST_SetSRID(ST_MakeLine(ST_MakePoint(x1, y1), "
                     f"ST_MakePoint(x2, y2)), 4326), {UTM})")
        conn.execute("CREATE INDEX ON sites USING gist (geom)")
        conn.execute("CREATE INDEX ON rivers USING gist (geom)")
        conn.execute("VACUUM ANALYZE sites")
        conn.execute("VACUUM ANALYZE rivers")
        out["load_seconds"] = time.perf_counter() - t
        max_half = float(width.max()) / 2.0
        # The index-friendly form: a constant radius for the GiST search, the per-river width after.
        sql = ("SELECT DISTINCT s.id FROM sites s JOIN rivers r ON ST_DWithin(s.geom, r.geom, %s) "
               "WHERE ST_Distance(s.geom, r.geom) - r.width_m / 2 <= %s")
        plan = conn.execute("EXPLAIN " + sql, (distance + max_half, distance)).fetchall()
        out["uses_index"] = any("Index" in row[0] for row in plan)
        t = time.perf_counter()
        ids = [row[0] for row in conn.execute(sql, (distance + max_half, distance))]
        out["seconds"] = time.perf_counter() - t
        out["ids"] = sorted(ids)
    return out


# --- PostGIS cluster ------------------------------------------------------------------------------------

@contextlib.contextmanager
def postgis_cluster():
    """A throwaway cluster tuned for one big query (shared_buffers 1 GB), stopped and deleted after."""
    import shutil

    from tests import pg

    bindir = pg._bin_dir()
    tmp = Path(tempfile.mkdtemp(prefix="qingshan-bench-pg-"))
    if os.geteuid() == 0:
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    data = tmp / "data"
    port = pg._free_port()
    started = False
    try:
        pg._run(pg._as_server_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]))
        opts = [f"-p {port}", "-c listen_addresses=127.0.0.1", f"-k {tmp}", "-c shared_buffers=1GB",
                "-c work_mem=256MB", "-c maintenance_work_mem=512MB", "-c fsync=off",
                "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_parallel_workers_per_gather=2"]
        pg._run(pg._as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "server.log"),
                                    "-o", " ".join(opts), "-w", "-t", "60", "start"]))
        started = True
        base = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        pg._prepare_template(base)
        yield pg.new_database(base, "bench")
    finally:
        if started:
            subprocess.run(pg._as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                               "stop"]), capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


# --- driver ----------------------------------------------------------------------------------------------

def run_worker(method: str, path: Path, distance: float, url: str | None, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--worker", method, "--data", str(path), "--distance", str(distance),
           "--result", str(out)]
    if url:
        cmd += ["--url", url]
    subprocess.run(cmd, check=True)
    res = json.loads(out.read_text())
    res["peak_mb"] = res.pop("maxrss_kb") / 1024  # the worker's own peak resident memory
    return res


def truth(path: Path, site_ids: np.ndarray, distance: float) -> np.ndarray:
    """Independent geodesic rule distance for a few sites: AEQD at each site via Geod, every segment near."""
    import pyproj

    data = np.load(path)
    seg, site, width = data["seg"], data["site"], data["width"]
    geod = pyproj.Geod(ellps="GRS80")
    out = np.empty(len(site_ids))
    for n, i in enumerate(site_ids):
        lon, lat = site[i]
        near = np.flatnonzero((np.abs(seg[:, 0] - lon) < 0.02) & (np.abs(seg[:, 1] - lat) < 0.02))
        if len(near) == 0:
            out[n] = np.inf
            continue
        s = seg[near]
        ones = np.ones(len(near))
        az1, _, d1 = geod.inv(lon * ones, lat * ones, s[:, 0], s[:, 1])
        az2, _, d2 = geod.inv(lon * ones, lat * ones, s[:, 2], s[:, 3])
        ax, ay = d1 * np.sin(np.radians(az1)), d1 * np.cos(np.radians(az1))
        bx, by = d2 * np.sin(np.radians(az2)), d2 * np.cos(np.radians(az2))
        dx, dy = bx - ax, by - ay
        len2 = dx * dx + dy * dy
        t = np.clip(np.where(len2 > 0, -(ax * dx + ay * dy) / np.where(len2 > 0, len2, 1), 0), 0, 1)
        out[n] = np.min(np.maximum(np.hypot(ax + t * dx, ay + t * dy) - width[near] / 2, 0))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="number of sites and of river segments (default 100000)")
    ap.add_argument("--distance", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-postgis", dest="postgis", action="store_false")
    ap.add_argument("--no-sjoin", dest="sjoin", action="store_false")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:  # child process: run one method, report time, ids and peak memory
        path = Path(args.data)
        fn = {"ours": work_ours, "sjoin": work_sjoin, "postgis": work_postgis}[args.worker]
        res = fn(path, args.distance, args.url) if args.worker == "postgis" else fn(path, args.distance)
        res["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        Path(args.result).write_text(json.dumps(res))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="qingshan-bench-"))
    try:
        return _run_all(args, tmp)
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _run_all(args: argparse.Namespace, tmp: Path) -> int:
    path = tmp / "data.npz"
    make_data(args.n, args.seed, path)
    print(f"{args.n:,} sites × {args.n:,} river segments, D = {args.distance:g} m, {os.cpu_count()} cores")
    results = {"ours": run_worker("ours", path, args.distance, None, tmp / "ours.json")}
    if args.sjoin:
        results["sjoin"] = run_worker("sjoin", path, args.distance, None, tmp / "sjoin.json")
    if args.postgis:
        try:
            with postgis_cluster() as url:
                results["postgis"] = run_worker("postgis", path, args.distance, url, tmp / "postgis.json")
        except Exception as exc:  # noqa: BLE001 - report and go on without PostGIS
            print(f"PostGIS skipped: {exc}")

    ours = results["ours"]
    ours_ids = set(ours["ids"])
    print(f"{'method':<28}{'seconds':>9}{'ratio':>8}{'peak MB':>9}{'violations':>12}{'≠ ours':>8}")
    for name, label in (("ours", "ours (strip TM, exact)"), ("sjoin", "UTM buffer + sjoin"),
                        ("postgis", "PostGIS ST_DWithin + GiST")):
        if name not in results:
            continue
        r = results[name]
        ids = set(r["ids"])
        diff = len(ids ^ ours_ids)
        peak = f"{r['peak_mb']:.0f}" if name != "postgis" else "server"
        print(f"{label:<28}{r['seconds']:>9.2f}{r['seconds'] / ours['seconds']:>7.1f}×{peak:>9}{len(ids):>12,}{diff:>8}")
    if "postgis" in results:
        print(f"  PostGIS load + index + analyze: {results['postgis']['load_seconds']:.1f} s "
              f"(query uses the GiST index: {results['postgis']['uses_index']})")
    for name in ("sjoin", "postgis"):
        if name not in results:
            continue
        ids = set(results[name]["ids"])
        only_them = np.array(sorted(ids - ours_ids), dtype=np.int64)
        only_us = np.array(sorted(ours_ids - ids), dtype=np.int64)
        if len(only_them) + len(only_us) == 0:
            print(f"  {name}: identical violation set")
            continue
        t_them, t_us = truth(path, only_them[:200], args.distance), truth(path, only_us[:200], args.distance)
        print(f"  {name}: lists {len(only_them)} site(s) we do not, misses {len(only_us)} we list; "
              f"geodesic truth: theirs-only {_span(t_them)}, ours-only {_span(t_us)} (limit {args.distance:g} m)")
    # An independent geodesic check of our answer on a random sample of sites near the limit.
    rng = np.random.default_rng(0)
    sample = rng.choice(args.n, size=min(2000, args.n), replace=False)
    t = truth(path, sample, args.distance)
    want = set(sample[t <= args.distance].tolist())
    got = set(sample.tolist()) & ours_ids
    print(f"  ours vs geodesic truth on {len(sample)} random sites: {len(want ^ got)} disagreement(s)")
    return 0


def _span(d: np.ndarray) -> str:
    d = d[np.isfinite(d)]
    return "—" if len(d) == 0 else f"{d.min():.3f}–{d.max():.3f} m"


if __name__ == "__main__":
    sys.exit(main())
