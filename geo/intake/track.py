"""A phone's GPS track (GPX: 两步路, a handheld GPS) as the route an inspection actually took.

The track is read by :func:`geo.io.readers.read_gpx_track`, converted from the datum the user states (GPX
says WGS84, but Chinese apps may record GCJ-02: the choice is required, as for every typed coordinate), and
measured against the inspection's stops in a local metric CRS: each stop is *passed* when the track comes
within ``within_m`` metres of it. The GPX file itself is kept as the inspection's attachment, with the
summary (length, start and end, stops passed) in its note, so the record of the patrol is the track as
received and what was made of it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..crs import DATUM_LABELS, local_tm, parse_datum, to_wgs84, transform_geometry
from ..errors import GeoError
from ..io import readers
from . import datum as datums

#: A stop counts as passed when the track comes this close (metres): a phone's GPS in a car, a gate.
WITHIN_M = 100.0
_GEOD = pyproj.Geod(ellps="WGS84")


@dataclass
class Track:
    """An inspection's track: where it went, when, and which planned stops it passed."""

    inspection_id: str
    line: object  # shapely LineString (WGS84), the tracks of the file joined in order
    started: pd.Timestamp | None
    ended: pd.Timestamp | None
    length_m: float
    #: The inspection's stops: ``seq``, ``layer``, ``feature_id``, ``name``, ``distance_m``, ``passed``.
    stops: pd.DataFrame
    datum: str
    within_m: float = WITHIN_M

    def summary(self) -> str:
        """One line in Chinese, then English."""
        n, k = len(self.stops), int(self.stops["passed"].sum()) if len(self.stops) else 0
        when = ""
        if self.started is not None and self.ended is not None:
            when = f"，{self.started:%Y-%m-%d %H:%M}–{self.ended:%H:%M}"
        missed = "、".join(self.stops.loc[~self.stops["passed"], "name"].astype(str).tolist()[:10])
        return (f"轨迹 {self.length_m / 1000:.1f} 公里{when}；经过计划点位 {k}/{n} 个（{self.within_m:g} 米以内）"
                + (f"，未经过：{missed}" if missed else "") + f"；坐标系 {DATUM_LABELS[self.datum]} / "
                f"track {self.length_m / 1000:.1f} km; passed {k} of {n} planned stops (within {self.within_m:g} m)")


def read_track(src, *, name: str | None = None, datum: str | None) -> tuple[object, pd.Timestamp | None,
                                                                              pd.Timestamp | None, str]:
    """The track of a GPX file in WGS84 with its first and last time; ``datum`` is required."""
    if datum is None or not str(datum).strip():
        raise GeoError(*datums.not_stated(name or "track.gpx", None))
    code = parse_datum(datum)
    lines, times = readers.read_gpx_track(src, name=name)
    parts = [g for g in lines if g is not None and not g.is_empty]
    if not parts:
        raise GeoError("GPX 文件中没有可用的轨迹（每条轨迹至少两个点）。", "the GPX file has no track of two points or more")
    coords = np.concatenate([shapely.get_coordinates(g) for g in parts])
    line = shapely.linestrings(coords)
    line = transform_geometry(np.array([line], dtype=object), lambda x, y: to_wgs84(x, y, code))[0]
    stamps = pd.DatetimeIndex(np.concatenate([np.asarray(t, dtype="datetime64[ns]") for t in times])) \
        if times else pd.DatetimeIndex([])
    stamps = stamps[~stamps.isna()]
    return line, (stamps.min() if len(stamps) else None), (stamps.max() if len(stamps) else None), code


def passed_stops(line, stops: gpd.GeoDataFrame, within_m: float = WITHIN_M) -> pd.DataFrame:
    """Each stop's distance to the track (metres, in a local transverse Mercator) and whether it was passed."""
    out = pd.DataFrame({c: stops[c].to_numpy() for c in ("seq", "layer", "feature_id", "name") if c in stops.columns})
    if not len(stops):
        return out.assign(distance_m=pd.Series(dtype=float), passed=pd.Series(dtype=bool))
    c = line.centroid
    metric = local_tm(c.x, c.y)
    track = gpd.GeoSeries([line], crs="EPSG:4326").to_crs(metric).iloc[0]
    pts = gpd.GeoSeries(stops.geometry.values, crs="EPSG:4326").to_crs(metric).values
    d = shapely.distance(np.asarray(pts, dtype=object), track)
    return out.assign(distance_m=np.round(d, 1), passed=d <= within_m)


def _stops(store, inspection_id: str) -> gpd.GeoDataFrame:
    """The inspection's planned stops with their sites' names (read here, not through geo.inspections, which
    sits above the intake: the track only needs where each stop is)."""
    v = store.read("inspection_visits", where={"inspection_id": [inspection_id]})
    if not len(v):
        return gpd.GeoDataFrame({"seq": [], "layer": [], "feature_id": [], "name": []}, geometry=[], crs="EPSG:4326")
    if "seq" not in v.columns:
        v = v.sort_values("visited_at", kind="stable").assign(seq=np.arange(1, len(v) + 1))
    names = {}
    for layer, ids in v.groupby("layer")["feature_id"]:
        sites = store.read(layer, where={"id": sorted(set(map(str, ids)))})
        names.update({(layer, i): n for i, n in zip(sites["id"], sites["name"])})
    v = v.assign(name=[names.get((lay, f), f) for lay, f in zip(v["layer"], v["feature_id"])])
    return gpd.GeoDataFrame(v.sort_values("seq", kind="stable").reset_index(drop=True), geometry="geometry",
                            crs="EPSG:4326")


def import_track(store, inspection_id: str, src, *, name: str | None = None, datum: str | None, user: str,
                 within_m: float = WITHIN_M, dry_run: bool = False, now: dt.datetime | None = None) -> Track:
    """Read a GPX track, match it to the inspection's stops and keep it as the inspection's attachment.

    Raises
    ------
    geo.errors.GeoError : unknown inspection, no datum, not a GPX, no track, over a limit.
    """
    from .. import attachments
    from ..store import Change

    ins = store.read("inspections", where={"id": [str(inspection_id)]})
    if not len(ins):
        raise GeoError(f"没有巡查“{inspection_id}”。", f"no inspection {inspection_id!r}")
    data = src if isinstance(src, (bytes, bytearray)) else None
    if data is None:
        from pathlib import Path

        data = Path(src).read_bytes() if not hasattr(src, "read") else src.read()
    line, started, ended, code = read_track(bytes(data), name=name or "track.gpx", datum=datum)
    stops = _stops(store, str(inspection_id))
    length = float(_GEOD.geometry_length(line))
    track = Track(str(inspection_id), line, started, ended, length, passed_stops(line, stops, within_m), code,
                  within_m)
    if not dry_run:
        row = attachments.prepare_track(name or "巡查轨迹.gpx", bytes(data), inspection_id=str(inspection_id),
                                        user=user, note=track.summary().split(" / ")[0], now=now)
        store.commit([Change("attachments", row, "upsert")])
    return track
