"""Peak memory (whole process) of hostile and ordinary attachments (issue 26).

    python bench/attachments_rss.py [--root DIR] [--work DIR]

Each step runs in its own Python process; its peak resident set size is the
kernel's ``ru_maxrss`` of that process (``os.wait4``), printed beside the
anchor, a plain ``python -c "import geo"`` of the same run, and the wall time.
Steps: uploading a 13000×13000 PNG bomb (~0.5 MB), a 584-byte truncated PNG
claiming 13000×13000 RGBA, a 584-byte truncated PNG under the pixel limit
(6000×6000); the site file (``site_file`` + ``to_pdf``, what the site page's
PDF download runs) of a site holding three 12 MP phone photos stored without
thumbnails (as rows stored before thumbnails), twice: the first makes and
stores the thumbnails, the second uses them; and the same for a site holding
an old 13000×13000 PNG bomb row.

``--root`` runs the steps against another checkout (e.g. ``git archive HEAD |
tar -x -C /tmp/before``) for a before/after comparison; the store and files
are built by this checkout, the same for both. poppler's tools run in their
own processes and are not counted (the site files here hold no PDF). The
store is built in a child process too: a child's ``ru_maxrss`` starts from
its parent's size at fork, so the measuring process stays small.
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHOTO_SITE, BOMB_SITE = "E001", "E002"

UPLOAD = """
import sys; sys.path.insert(0, sys.argv[1])
from geo import attachments as ATT
from geo.errors import GeoError
from geo.store import open_store
data = open(sys.argv[3], "rb").read()
try:
    ATT.add(open_store(sys.argv[2]), [("photo.png", data)], layer="enterprises", feature_id="E003", user="bench")
    print("accepted")
except GeoError as exc:
    print("refused: " + exc.en[:60])
"""

SITE_FILE = """
import inspect, sys; sys.path.insert(0, sys.argv[1])
from geo.sitefile import site_file, to_pdf
from geo.store import open_store
kw = {"cache_thumbs": True} if "cache_thumbs" in inspect.signature(site_file).parameters else {}
f = site_file(open_store(sys.argv[2]), "enterprises", sys.argv[3], **kw)
print(f"PDF {len(to_pdf(f)) // 1024} KB, {len(f.attachments)} attachments")
"""


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(w: int, h: int, *, colour: int = 2, cut: int | None = None) -> bytes:
    """A valid all-black PNG (RGB, or RGBA for ``colour=6``) made row by row; ``cut``: its first bytes only."""
    z = zlib.compressobj(9)
    row = b"\x00" + bytes(w * (4 if colour == 6 else 3))
    idat = b"".join(z.compress(row) for _ in range(h)) + z.flush()
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return data if cut is None else data[:cut]


def phone_photo(seed: int, w: int = 4000, h: int = 3000) -> bytes:
    """A 12 MP JPEG like a phone's (smooth scene, sensor noise), a few MB."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([120 + 80 * np.sin(x / (300 + 40 * seed)), 140 + 60 * np.cos(y / 250), 100 + 0.02 * (x - y)], -1)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def legacy_rows(fid: str, files: list[tuple[str, bytes]]):
    """``attachments`` rows as stored before thumbnails (no ``thumb``), written past today's upload checks."""
    import hashlib

    import pandas as pd

    return pd.DataFrame([dict(id=f"bench-{fid}-{k}", layer="enterprises", feature_id=fid, name=name,
                              mime="image/jpeg" if data[:2] == b"\xff\xd8" else "image/png", size=len(data),
                              sha256=hashlib.sha256(data).hexdigest(), content=data,
                              uploaded_at=pd.Timestamp("2007-06-01 10:00"), uploaded_by="bench", note=None)
                         for k, (name, data) in enumerate(files)])


def build(work: Path) -> dict[str, Path]:
    """The store (demo + the two sites' old rows) and the upload files, under ``work``."""
    from geo.store import Change, open_store

    files = {"bomb": png_bomb(13000, 13000), "cut_rgba": png_bomb(13000, 13000, colour=6, cut=584),
             "cut_small": png_bomb(6000, 6000, cut=584)}
    paths = {}
    for name, data in files.items():
        paths[name] = work / f"{name}.png"
        paths[name].write_bytes(data)
    store = work / "store.gpkg"
    shutil.copyfile(ROOT / "data" / "demo.gpkg", store)
    photos = [(f"现场{k}.jpg", phone_photo(k)) for k in range(3)]
    rows = legacy_rows(PHOTO_SITE, photos)
    bomb = legacy_rows(BOMB_SITE, [("旧照片.png", files["bomb"])])
    open_store(store).commit([Change("attachments", rows, "upsert"), Change("attachments", bomb, "upsert")])
    paths["store"] = store
    paths["photo_mb"] = sum(len(d) for _, d in photos) / 1e6
    return paths


def measure(args: list[str]) -> tuple[float, float, str]:
    """(peak RSS in MB, wall seconds, last line printed) of one child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read().decode(errors="replace")
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    lines = out.strip().splitlines() or [f"exit {proc.returncode}: " + (err.strip().splitlines() or [""])[-1][:60]]
    return usage.ru_maxrss / 1024, wall, lines[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(ROOT), help="checkout whose geo/ the steps run (default: this one)")
    ap.add_argument("--work", default=None, help="folder for the store and files (default: a temporary one)")
    ap.add_argument("--build", default=None, help=argparse.SUPPRESS)  # (the child that builds the store)
    a = ap.parse_args()
    if a.build:
        print(f"{build(Path(a.build))['photo_mb']:.1f}")
        return
    work = Path(a.work or tempfile.mkdtemp(prefix="qingshan-att-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    photo_mb = subprocess.run([sys.executable, __file__, "--build", str(work)], capture_output=True, text=True,
                              check=True).stdout.split()[-1]
    p = {name: work / f"{name}.png" for name in ("bomb", "cut_rgba", "cut_small")}
    p["store"], p["photo_mb"] = work / "store.gpkg", float(photo_mb)
    py, root, store = sys.executable, str(Path(a.root).resolve()), str(p["store"])
    steps = [
        ('anchor: python -c "import geo"', [py, "-c", f"import sys; sys.path.insert(0, {root!r}); import geo"]),
        ("reference: import geo.store, geo.attachments",
         [py, "-c", f"import sys; sys.path.insert(0, {root!r}); import geo.store, geo.attachments"]),
        ("upload 13000x13000 PNG bomb (481 KB)", [py, "-c", UPLOAD, root, store, str(p["bomb"])]),
        ("upload truncated PNG 584 B, 13000x13000 RGBA", [py, "-c", UPLOAD, root, store, str(p["cut_rgba"])]),
        ("upload truncated PNG 584 B, 6000x6000", [py, "-c", UPLOAD, root, store, str(p["cut_small"])]),
        (f"site file, 3 photos ({p['photo_mb']:.1f} MB), 1st", [py, "-c", SITE_FILE, root, store, PHOTO_SITE]),
        ("site file, 3 photos, 2nd (stored thumbnails)", [py, "-c", SITE_FILE, root, store, PHOTO_SITE]),
        ("site file, old 13000x13000 bomb row, 1st", [py, "-c", SITE_FILE, root, store, BOMB_SITE]),
        ("site file, old 13000x13000 bomb row, 2nd", [py, "-c", SITE_FILE, root, store, BOMB_SITE]),
    ]
    print(f"code: {root}")
    print(f"{'step':<48} {'peak RSS':>10} {'x anchor':>9} {'wall':>8}  outcome")
    anchor = None
    for label, cmd in steps:
        rss, wall, said = measure(cmd)
        anchor = anchor or rss
        print(f"{label:<48} {rss:>7.0f} MB {rss / anchor:>8.1f}x {wall:>6.1f} s  {said}")
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
