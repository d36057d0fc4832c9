"""Store benchmark: GeoPackage vs PostGIS on the demo district.

    python bench/store.py [--store-pg postgresql://…] [--repeat 5] [--writers 4] [--updates 10]

Without ``--store-pg`` it starts a throwaway PostgreSQL+PostGIS cluster (fsync
on, as in production; see tests/pg.py) and deletes it afterwards. The demo
GeoPackage is copied to a temporary directory first; nothing in ``data/`` is
written. Prints one line per figure:

- read every table, a snapshot of the wall screen's tables, ``version()``;
- one inspector's status update (geo.updates: the event, status = latest event);
- concurrent status updates (``--writers`` threads × ``--updates``);
- copy GeoPackage → PostGIS → GeoPackage;
- push-down: latest reading per point and parameter, counts by status, vs pandas;
- the riverside check (:mod:`geo.buffers`) on both stores, which must list
  exactly the same violations, and a PostGIS ``geography`` ``ST_Distance``
  version of the rule in SQL for comparison.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.contract import SITE_LAYERS, STATUS, TABLES  # noqa: E402
from geo.rules import RESOLVED  # noqa: E402
from geo.store import GpkgStore, open_store  # noqa: E402
from geo.store.postgis import copy_store  # noqa: E402

DEMO = ROOT / "data" / "demo.gpkg"
WALL = ["townships", "enterprises", "kilns", "farms", "status_events", "sampling_points"]


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeat`` runs (after one warm-up) and its last result."""
    out = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def line(what: str, gpkg: float | None, pg: float | None, note: str = "") -> None:
    g = f"{gpkg * 1000:9.1f} ms" if gpkg is not None else " " * 12
    p = f"{pg * 1000:9.1f} ms" if pg is not None else " " * 12
    print(f"{what:<44} gpkg {g}   postgis {p}   {note}", flush=True)


def status_update(store, layer: str, fid: str, status: str, who: str, note: str) -> None:
    """One inspector's update as the app does it (geo.updates): the event appended, status = latest event."""
    from geo.updates import update_status

    update_status(store, layer, fid, status, dt.date(2007, 7, 1), note, who, today=dt.date(2007, 7, 1))


def concurrent_updates(store, writers: int, updates: int) -> tuple[float, int]:
    ids = store.read("kilns")["id"].tolist()[:4]
    before = len(store.read("status_events"))
    errors: list = []

    def work(k: int) -> None:
        try:
            for j in range(updates):
                status_update(store, "kilns", ids[(k + j) % len(ids)], STATUS["kilns"][(k + j) % 4], f"w{k}", f"{k}-{j}")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(writers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    lost = before + writers * updates - len(store.read("status_events"))
    return elapsed, lost


CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from bench.store import status_update
from geo.store import open_store
from geo.contract import STATUS
spec, k, n, start = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
store = open_store(spec)
ids = store.read("kilns")["id"].tolist()[:4]
time.sleep(max(0.0, start - time.time()))
begin = time.time()
for j in range(n):
    status_update(store, "kilns", ids[(k + j) % 4], STATUS["kilns"][(k + j) % 4], f"p{k}", f"p{k}-{j}")
print(begin, time.time())
"""


def process_updates(spec: str, store, writers: int, updates: int) -> tuple[float, int]:
    """``writers`` separate processes (as several Streamlit processes) × ``updates`` each; timed from a common start."""
    import subprocess

    before = len(store.read("status_events"))
    start = time.time() + 15.0  # after every child has imported its libraries
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), spec, str(k), str(updates), str(start)],
                              stdout=subprocess.PIPE, text=True) for k in range(writers)]
    spans = []
    for p in procs:
        out, _ = p.communicate(timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"writer process failed ({p.returncode})")
        spans.append(tuple(map(float, out.strip().splitlines()[-1].split())))
    lost = before + writers * updates - len(store.read("status_events"))
    return max(e for _, e in spans) - min(b for b, _ in spans), lost


SQL_RIVERSIDE = """
WITH sites AS (
  SELECT 'farms' AS layer, id, status, geometry FROM farms
  UNION ALL SELECT 'enterprises', id, status, geometry FROM enterprises
  UNION ALL SELECT 'kilns', id, status, geometry FROM kilns
), active AS (
  SELECT * FROM sites WHERE NOT ((layer = 'farms' AND status = ANY(%(rf)s))
      OR (layer = 'enterprises' AND status = ANY(%(re)s)) OR (layer = 'kilns' AND status = ANY(%(rk)s)))
)
SELECT a.layer, a.id, least(
  (SELECT min(greatest(ST_Distance(a.geometry::geography, r.geometry::geography) - r.width_m / 2, 0))
     FROM rivers r WHERE ST_DWithin(a.geometry::geography, r.geometry::geography, %(d)s + r.width_m / 2)),
  (SELECT min(ST_Distance(a.geometry::geography, w.geometry::geography))
     FROM waterbodies w WHERE ST_DWithin(a.geometry::geography, w.geometry::geography, %(d)s))) AS distance_m
FROM active a
"""


def sql_riverside(pg, distance: float) -> pd.DataFrame:
    """The riverside rule in PostGIS (geography: distances on the spheroid), violations only."""
    from geo.store.postgis import _driver_tx

    with _driver_tx(pg.engine, readonly=True) as cur:
        cur.execute(SQL_RIVERSIDE, {"d": distance, "rf": sorted(RESOLVED["farms"]),
                                    "re": sorted(RESOLVED["enterprises"]), "rk": sorted(RESOLVED["kilns"])})
        df = pd.DataFrame(cur.fetchall(), columns=["layer", "id", "distance_m"])
    df = df[df["distance_m"].notna()]
    return df[df["distance_m"].astype(float) <= distance].reset_index(drop=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store-pg", help="an empty PostGIS database (default: a throwaway cluster)")
    ap.add_argument("--gpkg", default=str(DEMO), help="the GeoPackage to start from (copied first)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--updates", type=int, default=10)
    ap.add_argument("--distance", type=float, default=200.0)
    args = ap.parse_args(argv)
    if not Path(args.gpkg).exists():
        print(f"no GeoPackage at {args.gpkg}; build it with: python -m geo demo --out data/demo.gpkg")
        return 2
    with contextlib.ExitStack() as stack:
        if args.store_pg:
            url = args.store_pg
        else:
            from tests.pg import throwaway_cluster

            url = stack.enter_context(throwaway_cluster(durable=True))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        src = tmp / "demo.gpkg"
        shutil.copyfile(args.gpkg, src)
        gp = GpkgStore(src)
        pg = open_store(url, create=True)
        sizes = {t: len(gp.read(t)) for t in gp.tables()}
        print(f"demo: {sizes}")

        t0 = time.perf_counter()
        copy_store(gp, pg)
        to_pg = time.perf_counter() - t0
        t0 = time.perf_counter()
        copy_store(pg, GpkgStore(tmp / "back.gpkg", create=True))
        to_gpkg = time.perf_counter() - t0
        line("copy whole store (gpkg→pg | pg→gpkg)", to_gpkg, to_pg, "(columns: into gpkg | into postgis)")

        r = args.repeat
        line("read every table", timed(lambda: gp.read_many(list(TABLES)), r)[0],
             timed(lambda: pg.read_many(list(TABLES)), r)[0])
        line("read wall-screen tables (one snapshot)", timed(lambda: gp.read_many(WALL), r)[0],
             timed(lambda: pg.read_many(WALL), r)[0])
        line("read readings", timed(lambda: gp.read("readings"), r)[0], timed(lambda: pg.read("readings"), r)[0],
             f"{sizes.get('readings', 0)} rows")
        line("version()", timed(gp.version, 50)[0], timed(pg.version, 50)[0])

        def pandas_latest(store):
            rd = store.read("readings").reset_index()
            return rd.sort_values(["sampled_at", "index"]).groupby(["point_id", "parameter"]).tail(1)
        t_pd, latest_pd = timed(lambda: pandas_latest(pg), r)
        t_sql, latest_sql = timed(pg.latest_readings, r)
        same = len(latest_pd) == len(latest_sql)
        line("latest reading per point+parameter", None, t_sql,
             f"pandas on the same store {t_pd * 1000:.1f} ms; {len(latest_sql)} rows, same count: {same}")
        t_pd, _ = timed(lambda: {l: pg.read(l)["status"].value_counts() for l in SITE_LAYERS}, r)
        t_sql, _ = timed(lambda: {l: pg.status_counts(l) for l in SITE_LAYERS}, r)
        line("counts by status (3 layers)", None, t_sql, f"read + value_counts {t_pd * 1000:.1f} ms")

        kiln = gp.read("kilns")["id"].iloc[0]
        n = [0]

        def one(store):
            n[0] += 1
            status_update(store, "kilns", kiln, STATUS["kilns"][n[0] % 4], "bench", f"b{n[0]}")
        line("one status update (geo.updates)", timed(lambda: one(gp), r)[0], timed(lambda: one(pg), r)[0])

        w, u = args.writers, args.updates
        g_el, g_lost = concurrent_updates(gp, w, u)
        p_el, p_lost = concurrent_updates(pg, w, u)
        print(f"{f'{w} threads x {u} status updates':<44} gpkg {w * u / g_el:7.1f} /s    postgis "
              f"{w * u / p_el:7.1f} /s    events lost: gpkg {g_lost}, postgis {p_lost}", flush=True)
        g_el, g_lost = process_updates(str(src), gp, w, u)
        p_el, p_lost = process_updates(url, pg, w, u)
        print(f"{f'{w} processes x {u} status updates':<44} gpkg {w * u / g_el:7.1f} /s    postgis "
              f"{w * u / p_el:7.1f} /s    events lost: gpkg {g_lost}, postgis {p_lost}", flush=True)

        from geo import buffers

        # The demo as shipped in both stores again: the updates above changed statuses on each side, and the
        # figure printed here is the one the README quotes for the demo.
        fresh = tmp / "fresh.gpkg"
        shutil.copyfile(args.gpkg, fresh)
        gp = GpkgStore(fresh)
        copy_store(gp, pg)
        t_g, res_g = timed(lambda: buffers.check(gp, args.distance), r)
        t_p, res_p = timed(lambda: buffers.check(pg, args.distance), r)
        cols = ["layer", "id", "distance_m", "water_id"]
        a = res_g[cols].sort_values(["layer", "id"]).reset_index(drop=True)
        b = res_p[cols].sort_values(["layer", "id"]).reset_index(drop=True)
        identical = a.equals(b)
        line(f"riverside check {args.distance:g} m (geo.buffers)", t_g, t_p,
             f"{len(a)} violations; identical on both stores: {identical}")
        if not identical:
            print("MISMATCH between stores:\n", a.compare(b) if a.shape == b.shape else (a, b))
        t_s, res_s = timed(lambda: sql_riverside(pg, args.distance), r)
        ks, kb = set(zip(res_s["layer"], res_s["id"])), set(zip(a["layer"], a["id"]))
        merged = a.merge(res_s, on=["layer", "id"], suffixes=("", "_sql"))
        diff = (merged["distance_m"] - merged["distance_m_sql"].astype(float)).abs().max() if len(merged) else 0.0
        line("riverside rule in SQL (geography)", None, t_s,
             f"{len(res_s)} violations; same set as geo.buffers: {ks == kb}; max |Δdistance| {diff:.4f} m")
        return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
