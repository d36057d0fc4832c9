"""KML and KMZ (奥维互动地图, Google Earth): each placemark a row, its geometry as written.

Read with :mod:`geo.io.xmlsafe` (expat, streamed, DOCTYPE refused), not with GDAL: GDAL's LIBKML driver
(present in pyogrio's GDAL) renames Chinese ``<Data name="所在村">`` fields to ``___`` and turns each
nested folder into an unrelated layer, losing both what a bureau wrote and where it filed it.

- **Rows**: every ``<Placemark>``, numbered from 1 in file order.
- **Columns**: ``名称`` (``<name>``), ``描述`` (``<description>``, HTML kept as written), ``文件夹`` (the
  enclosing ``<Folder>`` names joined with ``/``; ``None`` outside folders), then each
  ``<ExtendedData>`` field (``<Data name>``/``<value>`` and ``<SchemaData>``/``<SimpleData name>``) by its
  name, in the order first seen. Cells are text, trimmed, otherwise as written.
- **Geometry**: ``Point``, ``LineString``, ``LinearRing`` (as a closed line), ``Polygon`` (with holes),
  ``gx:Track``; several in a ``MultiGeometry`` become a Multi* (or a GeometryCollection when mixed).
  Longitude and latitude exactly as written (altitude dropped); never transformed: the file says WGS84,
  but 奥维 and most Chinese apps write GCJ-02, so the caller chooses the datum.
- **KMZ**: a zip whose declared sizes are checked first (:meth:`Limits.check_uncompressed`); its
  ``doc.kml`` (else its first ``.kml``) is streamed from the archive, nothing is extracted.
"""
from __future__ import annotations

import io
import re
import zipfile
import zlib
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import shapely

from ..errors import GeoError
from .limits import Limits
from .xmlsafe import local, parse

__all__ = ["Features", "read_kml", "KML_COLUMNS", "DATUM_NOTE"]

#: The fixed columns of a KML table.
KML_COLUMNS = ("名称", "描述", "文件夹")
#: The note every KML/GPX table carries: the coordinates' datum is the caller's choice.
DATUM_NOTE = ("文件声明坐标为 WGS84，但奥维、两步路等国内软件常写入 GCJ-02：坐标按原样读取、未作转换，请选择坐标系 / "
              "the file declares WGS84, but Chinese apps often write GCJ-02: coordinates are kept as written, "
              "choose their datum")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BOUNDARY = {"outerBoundaryIs": "outer", "innerBoundaryIs": "inner"}


@dataclass
class Features:
    """Features of a KML or GPX file: ``columns`` ``{name: cells}`` (equal lengths), ``geometry`` an object
    array of shapely geometries (``None`` where a feature has none), ``notes`` for the report."""

    columns: dict[str, list]
    geometry: np.ndarray
    notes: list[str] = field(default_factory=list)


def number(s: str) -> float | None:
    """A coordinate as written (``118.940000123``), or ``None`` for anything else (``nan``, ``1_0``)."""
    s = s.strip()
    if not _NUMBER.match(s):
        return None
    v = float(s)
    return v if np.isfinite(v) else None


class _Kml:
    """expat handlers building rows and flat vertex arrays (one pass, bounded by the limits)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.stack: list[str] = []
        self.folders: list[str | None] = []
        self.rows: list[dict] = []
        self.ext: dict[str, None] = {}  # ExtendedData names, first-seen order
        self.pm: dict | None = None
        self.buf: list[str] | None = None
        self.field: str | None = None
        self.x, self.y = array("d"), array("d")
        # primitives: placemark, part, kind (point / line / outer / inner), first vertex, vertex count
        self.prims: list[tuple[int, int, str, int, int]] = []
        self.part = -1
        self.track: int | None = None  # first vertex of an open gx:Track
        self.bad = set()  # placemarks with a coordinate that could not be read

    def start(self, name: str, attrs: dict) -> None:
        tag = local(name)
        parent = self.stack[-1] if self.stack else None
        self.stack.append(tag)
        if tag == "Folder":
            self.folders.append(None)
        elif tag == "Placemark":
            if len(self.rows) >= self.limits.max_rows:
                self.limits.check_rows(len(self.rows) + 1, at_least=True)
            self.pm = {"名称": None, "描述": None, "文件夹": "/".join(f for f in self.folders if f) or None}
            self.part = -1
        elif self.pm is None:
            if tag == "name" and parent == "Folder":
                self.buf = []
        elif tag in ("name", "description") and parent == "Placemark":
            self.buf = []
        elif tag in ("Data", "SimpleData"):
            self.field = attrs.get("name")
            if tag == "SimpleData":
                self.buf = []
        elif tag == "value" and parent == "Data":
            self.buf = []
        elif tag in ("Point", "LineString", "Polygon") or (tag == "LinearRing" and parent not in _BOUNDARY):
            self.part += 1
        elif tag == "Track":
            self.part += 1
            self.track = len(self.x)
        elif tag in ("coordinates", "coord"):
            self.buf = []

    def chars(self, data: str) -> None:
        if self.buf is not None:
            self.buf.append(data)

    def _text(self) -> str | None:
        s = "".join(self.buf or ()).strip()
        self.buf = None
        return s or None

    def end(self, name: str) -> None:
        tag = self.stack.pop()
        parent = self.stack[-1] if self.stack else None
        if tag == "Folder":
            self.folders.pop()
        elif tag == "Placemark" and self.pm is not None:
            self.rows.append(self.pm)
            self.pm = None
        elif tag == "name" and self.buf is not None:
            if parent == "Folder" and self.folders:
                self.folders[-1] = self._text()
            elif self.pm is not None:
                self.pm["名称"] = self._text()
        elif tag == "description" and self.buf is not None and self.pm is not None:
            self.pm["描述"] = self._text()
        elif tag in ("value", "SimpleData") and self.buf is not None and self.pm is not None:
            self._set_field(self._text())
        elif tag == "coordinates" and self.buf is not None and self.pm is not None:
            self._coordinates(self._text() or "", parent)
        elif tag == "coord" and self.buf is not None and self.track is not None:
            self._vertex((self._text() or "").split(), len(self.rows))
        elif tag == "Track" and self.track is not None:
            self.prims.append((len(self.rows), self.part, "line", self.track, len(self.x) - self.track))
            self.track = None

    def _set_field(self, value: str | None) -> None:
        key = (self.field or "").strip()
        if not key:
            return
        if key not in self.ext:
            self.ext[key] = None
            self.limits.check_columns(len(KML_COLUMNS) + len(self.ext))
        self.pm.setdefault("ext", {})[key] = value

    def _vertex(self, parts: list[str], pm: int) -> bool:
        lon, lat = (number(parts[0]), number(parts[1])) if len(parts) >= 2 else (None, None)
        if lon is None or lat is None:
            self.bad.add(pm)
            return False
        self.x.append(lon)
        self.y.append(lat)
        return True

    def _coordinates(self, s: str, parent: str | None) -> None:
        pm = len(self.rows)
        first = len(self.x)
        s = re.sub(r"\s*,\s*", ",", s)  # "118.9, 29.1" as some tools write it
        for t in s.split():
            if not self._vertex(t.split(","), pm):
                del self.x[first:], self.y[first:]
                return
        n = len(self.x) - first
        grand = self.stack[-2] if len(self.stack) >= 2 else None
        if parent == "Point":
            kind = "point"
        elif parent == "LinearRing" and grand in _BOUNDARY:
            kind = _BOUNDARY[grand]
        else:
            kind = "line"
        self.prims.append((pm, self.part, kind, first, n))


def _take(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex indices of the primitives, and which primitive (0..n-1) each belongs to."""
    owner = np.repeat(np.arange(len(starts)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offset, owner


def _geometries(k: _Kml) -> tuple[np.ndarray, int]:
    """One geometry per placemark (vectorised per kind); and how many placemarks lost theirs."""
    out = np.full(len(k.rows), None, dtype=object)
    if not k.prims:
        return out, len(k.bad)
    coords = np.column_stack([np.frombuffer(k.x, dtype=float), np.frombuffer(k.y, dtype=float)])
    pm = np.array([p[0] for p in k.prims])
    part = np.array([p[1] for p in k.prims])
    kind = np.array([p[2] for p in k.prims])
    start = np.array([p[3] for p in k.prims])
    count = np.array([p[4] for p in k.prims])
    ok = ~np.isin(pm, list(k.bad)) & (((kind == "point") & (count >= 1)) | ((kind == "line") & (count >= 2))
                                      | (np.isin(kind, ["outer", "inner"]) & (count >= 3)))
    geoms, owners, parts = [], [], []
    sel = ok & (kind == "point")
    geoms.append(shapely.points(coords[start[sel]]))
    owners.append(pm[sel]), parts.append(part[sel])
    sel = ok & (kind == "line")
    if sel.any():
        idx, which = _take(start[sel], count[sel])
        geoms.append(shapely.linestrings(coords[idx], indices=which))
        owners.append(pm[sel]), parts.append(part[sel])
    ring = ok & np.isin(kind, ["outer", "inner"])
    if ring.any():
        # a polygon is a (placemark, part) with its outer ring first; one without an outer ring is dropped
        key = pm * (part.max() + 2) + part
        has_outer = np.isin(key, key[ring & (kind == "outer")])
        ring &= has_outer
        order = np.lexsort((kind[ring] != "outer", key[ring]))
        rings_at = ring.nonzero()[0][order]
        idx, which = _take(start[rings_at], count[rings_at])
        rings = shapely.linearrings(coords[idx], indices=which)
        _, poly = np.unique(key[rings_at], return_inverse=True)
        geoms.append(shapely.polygons(rings, indices=poly))
        firsts = np.unique(poly, return_index=True)[1]
        owners.append(pm[rings_at][firsts]), parts.append(part[rings_at][firsts])
    geom = np.concatenate(geoms)
    owner = np.concatenate(owners)
    order = np.lexsort((np.concatenate(parts), owner))
    geom, owner = geom[order], owner[order]
    uniq, first, n = np.unique(owner, return_index=True, return_counts=True)
    single = n == 1
    out[uniq[single]] = geom[first[single]]
    multi = np.isin(owner, uniq[~single])
    if multi.any():  # a MultiGeometry: a Multi* of one kind, else a GeometryCollection
        g, o = geom[multi], owner[multi]
        types = shapely.get_type_id(g)
        owners_m = np.unique(o)
        lo = np.minimum.reduceat(types, np.unique(o, return_index=True)[1])
        hi = np.maximum.reduceat(types, np.unique(o, return_index=True)[1])
        kind_of = np.where(lo == hi, lo, -1)  # per multi-part placemark: its one type id, or -1 (mixed)
        makers = {0: shapely.multipoints, 1: shapely.multilinestrings, 3: shapely.multipolygons,
                  -1: shapely.geometrycollections}
        for t, make in makers.items():
            these = owners_m[kind_of == t]
            if not len(these):
                continue
            sel = np.isin(o, these)
            _, inv = np.unique(o[sel], return_inverse=True)
            out[these] = make(g[sel], indices=inv)
    lost = sum(1 for i in range(len(k.rows)) if out[i] is None and i in k.bad)
    return out, lost


def _kmz_member(zf: zipfile.ZipFile) -> str:
    """The KMZ's document: ``doc.kml`` at its root, else its first ``.kml`` (as Google Earth reads it)."""
    names = [i.filename for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX")]
    for n in names:
        if n.lower() == "doc.kml":
            return n
    for n in names:
        if n.lower().endswith(".kml"):
            return n
    raise GeoError("KMZ 压缩包中没有 .kml 文件。", "the KMZ holds no .kml file")


def _parse(fh: BinaryIO, limits: Limits) -> Features:
    k = _Kml(limits)
    parse(fh, what_zh="KML 文件", what_en="the KML file", start=k.start, end=k.end, chars=k.chars)
    if not k.rows:
        raise GeoError("KML 文件中没有地标（Placemark）。", "the KML file holds no placemark")
    geometry, lost = _geometries(k)
    columns: dict[str, list] = {c: [r[c] for r in k.rows] for c in KML_COLUMNS}
    for name in k.ext:
        col = name
        while col in columns:  # an ExtendedData field named like a fixed column keeps both
            col += "_2"
        columns[col] = [r.get("ext", {}).get(name) for r in k.rows]
    notes = [DATUM_NOTE]
    if lost:
        notes.append(f"{lost} 个地标的坐标无法读取，几何留空 / {lost} placemark(s) with unreadable coordinates "
                     f"have no geometry")
    return Features(columns, geometry, notes)


def read_kml(path: Path | None, data: bytes | None, *, kmz: bool, limits: Limits) -> Features:
    """Read a KML (or, with ``kmz``, a KMZ) from a path or bytes; see the module docstring.

    Raises
    ------
    geo.errors.LimitError : over a limit (a KMZ's declared size before anything is expanded; placemarks,
        fields).
    geo.errors.GeoError : a damaged file or zip, a DOCTYPE (refused), no placemark.
    """
    if not kmz:
        if path is not None:
            with path.open("rb") as fh:
                return _parse(fh, limits)
        return _parse(io.BytesIO(data), limits)
    try:
        with zipfile.ZipFile(path if path is not None else io.BytesIO(data)) as zf:
            limits.check_uncompressed(sum(i.file_size for i in zf.infolist()), "KMZ 文件")
            with zf.open(_kmz_member(zf)) as fh:
                return _parse(fh, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise GeoError("KMZ 文件已损坏。", "the KMZ file is damaged") from exc
    except (NotImplementedError, RuntimeError) as exc:  # an unknown compression method, encryption
        raise GeoError(f"无法读取 KMZ 压缩包：{exc}", f"cannot read the KMZ: {exc}") from exc
