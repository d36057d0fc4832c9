"""Hostile files against the real import command: peak memory and wall time of each, in a child process.

Builds, in a temporary folder:

- **shared-strings bomb**: an xlsx whose ``xl/sharedStrings.xml`` holds 11 million ``<si>`` (≈ 480 KB
  zipped, 190 MB expanded);
- **sparse XFD sheet**: an xlsx of 200,000 ledger rows, each with a formatted blank cell at column XFD
  (the last of 16,384), ≈ 1.5 MB;
- **lone XFD cell**: the same ledger with one value at XFD in its last row (and, as a control, the
  ledger without anything at XFD: what importing 200,000 rows costs anyway);
- **9M-vertex township**: a zipped Shapefile of one township polygon with 9 million vertices (≈ 420 KB);
- **whole-store GeoPackage**: :func:`geo.export.store_gpkg_bytes` of a synthetic store of ~300 MB
  (attachments of incompressible bytes), unless ``--no-gpkg``.

and runs ``python -m geo import --layer … --file … --crs wgs84 --dry-run --user bench --store COPY``
(the GeoPackage case: a child calling ``store_gpkg_bytes``) for each, measuring its peak RSS (the
child's own ``VmHWM``, see :data:`PEAK`) and wall time, next to the anchor ``python -c "import geo"`` of the
same run.

Run: ``python bench/readers_rss.py [--no-gpkg] [--keep DIR]``
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The ledger header the sheets carry (enterprises: the importer recognises each).
HEADER = ("编号", "企业名称", "经度", "纬度", "状态")


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


# --- xlsx -----------------------------------------------------------------------------------------

def _base_xlsx() -> bytes:
    """A one-sheet workbook written by openpyxl (its content types, rels and styles are reused)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(list(HEADER))
    ws.append(["E1", "甲厂", 118.9, 29.1, "在产"])
    bio = io.BytesIO()
    wb.save(bio)
    return bio.getvalue()


def _rewrite(path: Path, parts: dict[str, object]) -> Path:
    """The base workbook with ``parts`` replaced or added; a part is bytes or an iterable of byte chunks
    (streamed into the zip, so a 190 MB part never sits in memory)."""
    base = zipfile.ZipFile(io.BytesIO(_base_xlsx()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for info in base.infolist():
            if info.filename not in parts:
                zf.writestr(info.filename, base.read(info.filename))
        for name, content in parts.items():
            if isinstance(content, bytes):
                zf.writestr(name, content)
                continue
            with zf.open(name, "w", force_zip64=True) as fh:
                for chunk in content:
                    fh.write(chunk)
    return path


_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_CT_SST = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
           b'officedocument.spreadsheetml.sharedStrings+xml"/>')
_REL_SST = (b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/sharedStrings" Target="sharedStrings.xml"/>')


def shared_strings_bomb(path: Path, n: int = 11_000_000, *, declare: bool = True) -> Path:
    """An xlsx whose shared-strings table holds ``n`` strings (``declare``: its ``count`` says so; else
    the attribute claims 5) while its one sheet uses five of them."""
    base = zipfile.ZipFile(io.BytesIO(_base_xlsx()))
    ct = base.read("[Content_Types].xml")
    rels = base.read("xl/_rels/workbook.xml.rels")
    if b"sharedStrings" not in ct:
        ct = ct.replace(b"</Types>", _CT_SST + b"</Types>")
    if b"sharedStrings" not in rels:
        rels = rels.replace(b"</Relationships>", _REL_SST + b"</Relationships>")
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + _NS + b'><sheetData><row r="1">'
             + b"".join(b'<c r="%s1" t="s"><v>%d</v></c>' % (c, i) for i, c in enumerate([b"A", b"B", b"C", b"D", b"E"]))
             + b"</row></sheetData></worksheet>")
    declared = n if declare else 5

    def strings():
        yield (b'<?xml version="1.0" encoding="UTF-8"?><sst ' + _NS
               + b' count="%d" uniqueCount="%d">' % (declared, declared))
        yield "".join(f"<si><t>{h}</t></si>" for h in HEADER).encode()
        block = b"<si><t>a</t></si>" * 100_000
        left = n - len(HEADER)
        while left > 0:
            k = min(left, 100_000)
            yield block if k == 100_000 else b"<si><t>a</t></si>" * k
            left -= k
        yield b"</sst>"

    return _rewrite(path, {"[Content_Types].xml": ct, "xl/_rels/workbook.xml.rels": rels,
                           "xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": strings()})


def _sheet_rows(rows: int, blank_xfd: bool, lone_xfd: bool):
    """The sheet XML of a ``rows``-row enterprises ledger with inline strings, in chunks."""
    yield b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + _NS + b"><sheetData>"
    head = "".join(f'<c r="{c}1" t="inlineStr"><is><t>{h}</t></is></c>' for c, h in zip("ABCDE", HEADER))
    yield f'<row r="1">{head}</row>'.encode()
    buf = []
    for i in range(2, rows + 2):
        xfd = f'<c r="XFD{i}" s="0"/>' if blank_xfd else ""
        if lone_xfd and i == rows + 1:
            xfd = f'<c r="XFD{i}"><v>1</v></c>'
        buf.append(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>E{i}</t></is></c>'
                   f'<c r="B{i}" t="inlineStr"><is><t>厂{i}</t></is></c><c r="C{i}"><v>118.9{i % 97}</v></c>'
                   f'<c r="D{i}"><v>29.1{i % 89}</v></c><c r="E{i}" t="inlineStr"><is><t>在产</t></is></c>'
                   f"{xfd}</row>")
        if len(buf) == 5000:
            yield "".join(buf).encode()
            buf = []
    yield "".join(buf).encode()
    yield b"</sheetData></worksheet>"


def sparse_sheet(path: Path, rows: int = 200_000, *, blank_xfd: bool = True, lone_xfd: bool = False) -> Path:
    """A ``rows``-row ledger whose rows each end with a formatted blank cell at XFD (``blank_xfd``), or
    whose last row holds a value at XFD (``lone_xfd``)."""
    return _rewrite(path, {"xl/worksheets/sheet1.xml": _sheet_rows(rows, blank_xfd, lone_xfd)})


# --- shapefile -----------------------------------------------------------------------------------

def _dbf(records: list[tuple[str, str, str]]) -> bytes:
    """A dBASE III table of text fields code, name, kind (UTF-8)."""
    fields = (("code", 20), ("name", 50), ("kind", 10))
    rec_len = 1 + sum(n for _, n in fields)
    head_len = 32 + 32 * len(fields) + 1
    out = bytearray(struct.pack("<BBBBIHH20x", 3, 107, 6, 30, len(records), head_len, rec_len))
    for name, n in fields:
        out += struct.pack("<11sc4xBB14x", name.encode(), b"C", n, 0)
    out += b"\r"
    for rec in records:
        out += b" " + b"".join(v.encode("utf-8")[:n].ljust(n) for v, (_, n) in zip(rec, fields))
    out += b"\x1a"
    return bytes(out)


def polygon_shapefile_zip(path: Path, vertices: int = 9_000_000, features: int = 1) -> Path:
    """A zipped Shapefile of ``features`` township polygons of ``vertices`` vertices each (a periodic
    saw-tooth ring around Qujiang, so it zips to a few hundred KB)."""
    n = max(4, vertices)
    period = 1000
    k = np.arange(n - 1) % period
    x = 118.85 + k * 1e-4
    y = 29.05 + (np.arange(n - 1) // period % 2) * 1e-3 + (k % 2) * 1e-5
    ring = np.column_stack([np.append(x, x[0]), np.append(y, y[0])]).astype("<f8")
    box = struct.pack("<4d", ring[:, 0].min(), ring[:, 1].min(), ring[:, 0].max(), ring[:, 1].max())
    content_len = 44 + 4 + 16 * n  # type, box, parts, points, one part index, the points

    def header(file_bytes: int) -> bytes:
        return (struct.pack(">7i", 9994, 0, 0, 0, 0, 0, file_bytes // 2) + struct.pack("<2i", 1000, 5) + box
                + struct.pack("<4d", 0, 0, 0, 0))

    shp_len = 100 + features * (8 + content_len)
    shx = bytearray(header(100 + 8 * features))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        with zf.open("townships.shp", "w", force_zip64=True) as fh:
            fh.write(header(shp_len))
            offset = 100
            for i in range(features):
                fh.write(struct.pack(">2i", i + 1, content_len // 2) + struct.pack("<i", 5) + box
                         + struct.pack("<3i", 1, n, 0))
                for a in range(0, n, 1 << 20):
                    fh.write(ring[a:a + (1 << 20)].tobytes())
                shx += struct.pack(">2i", offset // 2, content_len // 2)
                offset += 8 + content_len
        zf.writestr("townships.shx", bytes(shx))
        zf.writestr("townships.dbf", _dbf([(f"T{i + 1:02d}", f"测试镇{i + 1}", "镇") for i in range(features)]))
        zf.writestr("townships.cpg", "UTF-8")
        zf.writestr("townships.prj", 'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",'
                                     '6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",'
                                     '0.0174532925199433]]')
    return path


# --- a large store --------------------------------------------------------------------------------

def large_store(path: Path, mb: int = 300) -> Path:
    """A copy of the demo store grown to about ``mb`` MB by attachments of incompressible bytes (as photos
    are), written through ``Store.commit``."""
    import pandas as pd

    from geo import contract
    from geo.store import DEMO_STORE, Change, open_store

    shutil.copyfile(DEMO_STORE, path)
    store = open_store(path)
    cols = contract.TABLES["attachments"].column_names
    rng = np.random.default_rng(7)
    site = store.read("enterprises")["id"].iloc[0]
    blob = 2 * 1024 * 1024
    for batch in range(0, mb // 2, 25):
        rows = []
        for i in range(batch, min(batch + 25, mb // 2)):
            content = rng.bytes(blob)
            rows.append({c: None for c in cols} | {
                "id": f"ATT{i:05d}", "layer": "enterprises", "feature_id": site, "name": f"照片{i}.jpg",
                "mime": "image/jpeg", "content": content, "size": blob, "sha256": hashlib.sha256(content).hexdigest(),
                "uploaded_at": pd.Timestamp("2007-06-30"), "uploaded_by": "bench"})
        store.commit([Change("attachments", contract.coerce("attachments", pd.DataFrame(rows)), "upsert")])
    return path


# --- runs ---------------------------------------------------------------------------------------

#: Prefix of every child's program: at exit it writes its own peak RSS (``VmHWM``). The kernel's
#: ``ru_maxrss`` of a child (``wait4``, ``RUSAGE_CHILDREN``) also counts the memory its parent had when it
#: was forked: a parent that has just built a 9M-vertex polygon makes a 200 MB refusal read as 680 MB.
PEAK = ("import atexit, runpy, sys\n"
        "def _peak():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            sys.stderr.write('\\nPEAK_KB ' + line.split()[1] + '\\n')\n"
        "atexit.register(_peak)\n")
#: ``python -m geo ARGS`` under :data:`PEAK`.
CLI = PEAK + "sys.argv[0] = 'geo'\nrunpy.run_module('geo', run_name='__main__', alter_sys=True)\n"


def run(argv: list[str], config: Path | None = None) -> dict:
    """A child process (``argv`` after ``python -c``): exit code, wall seconds, peak RSS (MB, its own
    ``VmHWM``), what it printed and its last lines."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("QINGSHAN_CONFIG", None)
    if config is not None:
        env["QINGSHAN_CONFIG"] = str(config)
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([python(), "-c", *argv], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    lines = text.strip().splitlines()
    peaks = [int(line.split()[1]) for line in lines if line.startswith("PEAK_KB ")]
    said = [line for line in lines if line.strip() and not line.startswith("PEAK_KB ")]
    return {"rc": os.waitstatus_to_exitcode(status), "s": wall, "out": text,
            "mb": (peaks[-1] if peaks else usage.ru_maxrss) / 1024, "said": " / ".join(said[-2:])[:150]}


def import_cmd(store: Path, layer: str, file: Path) -> list[str]:
    """``python -m geo import`` of ``file`` into ``layer`` (a dry run), as :func:`run` takes it."""
    return [CLI, "import", "--store", str(store), "--layer", layer, "--file", str(file), "--crs", "wgs84",
            "--dry-run", "--user", "bench"]


GPKG_CHILD = PEAK + ("from geo.store import open_store; from geo.export import store_gpkg_bytes\n"
                     "data = store_gpkg_bytes(open_store(sys.argv[1])); print(len(data) // 2**20, 'MB')\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-gpkg", action="store_true", help="skip the whole-store GeoPackage export")
    ap.add_argument("--keep", help="build the files in this folder and keep them")
    args = ap.parse_args()
    from geo.store import DEMO_STORE

    tmp = Path(args.keep or tempfile.mkdtemp(prefix="qingshan-readers-rss-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        store = tmp / "store.gpkg"
        shutil.copyfile(DEMO_STORE, store)
        cases = []
        t0 = time.perf_counter()
        f = shared_strings_bomb(tmp / "bomb.xlsx")
        cases.append(("shared-strings bomb", f, import_cmd(store, "enterprises", f)))
        f = sparse_sheet(tmp / "xfd.xlsx")
        cases.append(("200k rows, blank XFD cells", f, import_cmd(store, "enterprises", f)))
        f = sparse_sheet(tmp / "plain.xlsx", blank_xfd=False)
        cases.append(("200k rows, no XFD (control)", f, import_cmd(store, "enterprises", f)))
        f = sparse_sheet(tmp / "plain100k.xlsx", rows=100_000, blank_xfd=False)
        cases.append(("100k rows (max_ledger_rows)", f, import_cmd(store, "enterprises", f)))
        f = sparse_sheet(tmp / "xfd_lone.xlsx", blank_xfd=False, lone_xfd=True)
        cases.append(("200k rows, lone XFD value", f, import_cmd(store, "enterprises", f)))
        f = polygon_shapefile_zip(tmp / "township.zip")
        cases.append(("9M-vertex township", f, import_cmd(store, "townships", f)))
        if not args.no_gpkg:
            big = large_store(tmp / "big.gpkg")
            cases.append(("whole-store gpkg export", big, [GPKG_CHILD, str(big)]))
        print(f"built the files in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        anchor = run([PEAK + "import geo\n"])
        rows = [("anchor: import geo", None, anchor)]
        for label, f, argv in cases:
            r = run(argv)
            rows.append((label, f, r))
            print(f"{label}: exit {r['rc']}, {r['s']:.1f} s, {r['mb']:.0f} MB", file=sys.stderr, flush=True)
        print(f"\n{'case':<30}{'file MB':>9}{'exit':>6}{'s':>8}{'peak MB':>9}{'× s':>8}{'× MB':>7}  output")
        for label, f, r in rows:
            size = f"{f.stat().st_size / 2**20:.2f}" if f else ""
            print(f"{label:<30}{size:>9}{r['rc']:>6}{r['s']:>8.2f}{r['mb']:>9.0f}{r['s'] / anchor['s']:>8.1f}"
                  f"{r['mb'] / anchor['mb']:>7.1f}  {r['said']}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
