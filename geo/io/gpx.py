"""GPX (两步路, phone GPS): waypoints as rows, tracks as an inspection's route.

A first pass with :mod:`geo.io.xmlsafe` refuses a DOCTYPE (entity bombs), checks the XML and counts
waypoints and track points against the limits before anything is built; gpxpy (pinned) then reads the
document.

- :func:`read_waypoints`: each ``<wpt>`` a row: ``名称`` (``<name>``), ``描述`` (``<desc>``), ``注释``
  (``<cmt>``), ``类型`` (``<type>``), ``时间`` (``<time>``, as gpxpy reads it: a ``datetime``, in UTC when
  the file gives an offset or ``Z``), ``高程`` (``<ele>``, metres); a Point of the longitude and latitude as written.
- :func:`read_tracks`: one LineString per ``<trk>`` (its segments in order) and each vertex's time.

Coordinates are never transformed: GPX says WGS84, and a phone's GPS is, but apps that export from a
Chinese map may write GCJ-02; the caller chooses (:data:`geo.io.kml.DATUM_NOTE`).
"""
from __future__ import annotations

import datetime as dt
import io
from typing import BinaryIO

import numpy as np
import pandas as pd
import shapely

from ..errors import GeoError
from .cells import parse_datetime
from .kml import DATUM_NOTE, Features
from .limits import Limits
from .xmlsafe import GB_ENCODINGS, declared_encoding, local, parse

__all__ = ["read_waypoints", "read_tracks", "GPX_COLUMNS"]

#: The columns of a waypoint table, and the gpxpy attribute each comes from.
GPX_COLUMNS = {"名称": "name", "描述": "description", "注释": "comment", "类型": "type", "时间": "time",
               "高程": "elevation"}


def _checked(fh: BinaryIO, limits: Limits) -> tuple[bytes, int, int]:
    """The document's bytes after a safe streaming pass; with its waypoint and track-point counts."""
    counts = {"wpt": 0, "trkpt": 0, "trk": 0}
    kept = io.BytesIO()

    class _Tee:  # keeps what the safe pass read, so the file is read once
        def read(self, n: int) -> bytes:
            chunk = fh.read(n)
            kept.write(chunk)
            return chunk

    def start(name, _attrs):
        tag = local(name)
        if tag in counts:
            counts[tag] += 1
            if tag != "trk" and counts[tag] > limits.max_rows:
                limits.check_rows(counts[tag], at_least=True)

    parse(_Tee(), what_zh="GPX 文件", what_en="the GPX file", start=start)
    return kept.getvalue(), counts["wpt"], counts["trkpt"]


def _gpx(fh: BinaryIO, limits: Limits):
    import gpxpy
    import gpxpy.gpx

    data, _, _ = _checked(fh, limits)
    declared = declared_encoding(data[:256])
    codec = "gb18030" if declared in GB_ENCODINGS else "utf-8-sig" if declared in (None, "utf-8", "utf8") else declared
    try:
        textdata = data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        raise GeoError(f"GPX 文件的文字编码无法识别（{declared or 'UTF-8'}）。",
                       f"cannot read the text encoding of the GPX file ({declared or 'UTF-8'})") from None
    try:
        return gpxpy.parse(textdata)
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        raise GeoError(f"GPX 文件有误：{exc}", f"the GPX file is invalid: {exc}") from exc


def read_waypoints(fh: BinaryIO, limits: Limits) -> Features:
    """The waypoints of a GPX stream (see the module docstring).

    Raises
    ------
    geo.errors.GeoError : a damaged file, a DOCTYPE, no waypoint (a GPX holding only tracks is an
        inspection route: :func:`geo.io.readers.read_gpx_track`).
    """
    g = _gpx(fh, limits)
    if not g.waypoints:
        n = len(g.tracks)
        raise GeoError("GPX 文件中没有航点（wpt）" + (f"，只有 {n} 条轨迹（可作为巡查路线读取）。" if n else "。"),
                       "the GPX file holds no waypoint" + (f", only {n} track(s) (readable as a route)" if n else ""))
    columns = {col: [getattr(w, attr) for w in g.waypoints] for col, attr in GPX_COLUMNS.items()}
    # gpxpy's own time zone class becomes plain UTC, which every consumer (and parse_datetime) knows
    columns["时间"] = [t.astimezone(dt.timezone.utc) if t is not None and t.tzinfo else t for t in columns["时间"]]
    lon = np.array([w.longitude for w in g.waypoints], dtype=float)
    lat = np.array([w.latitude for w in g.waypoints], dtype=float)
    return Features(columns, shapely.points(lon, lat), [DATUM_NOTE])


def read_tracks(fh: BinaryIO, limits: Limits) -> tuple[np.ndarray, list[str | None], list[pd.DatetimeIndex]]:
    """The tracks of a GPX stream: one LineString each (empty when it has fewer than two points), the
    tracks' names, and each vertex's time in Beijing time (``NaT`` where a point has none)."""
    g = _gpx(fh, limits)
    if not g.tracks:
        raise GeoError("GPX 文件中没有轨迹（trk）。", "the GPX file holds no track")
    pts = [[p for seg in t.segments for p in seg.points] for t in g.tracks]
    counts = np.array([len(p) for p in pts])
    flat = [p for ps in pts for p in ps]
    coords = np.array([(p.longitude, p.latitude) for p in flat], dtype=float).reshape(-1, 2)
    owner = np.repeat(np.arange(len(pts)), counts)
    lines = np.full(len(pts), None, dtype=object)
    ok = counts >= 2
    lines[~ok] = shapely.from_wkt("LINESTRING EMPTY")
    if ok.any():
        keep = np.isin(owner, np.nonzero(ok)[0])
        _, which = np.unique(owner[keep], return_inverse=True)
        lines[ok] = shapely.linestrings(coords[keep], indices=which)
    # times by the one cell rule (an offset is converted to Beijing time, as everywhere in the project)
    times = [pd.DatetimeIndex([parse_datetime(p.time) for p in ps], dtype="datetime64[ns]") for ps in pts]
    return lines, [t.name for t in g.tracks], times
