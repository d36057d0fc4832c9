"""Which datum a ledger's coordinates are in: stated by the user, declared by the file, or found in the data.

A ledger typed from a phone map is GCJ-02 (Amap, Tencent) or BD-09 (Baidu), about 580 m from WGS84 in
Qujiang: three times the riverside limit, and usually still inside the right township, so nothing else
would notice. Qingshan therefore never assumes a datum for coordinates typed into a table:

- GIS files (GeoJSON, Shapefile with ``.prj``, GeoPackage) declare their CRS and the reader converts them;
- Gauss–Krüger metres are CGCS2000 by definition (:mod:`geo.io.coords` finds the zone);
- everything else (xlsx, xls, csv, KML/KMZ and GPX, which say WGS84 but are often written by Chinese apps
  in GCJ-02) needs the user's choice, and the import refuses without it.

And whatever was chosen, the data are asked too (:func:`evidence`): points of stored sites that the ledger
repeats and that sit ~580 m off under the chosen datum but on their stored place under another; ledger
townships that match only under another datum; headers that name the source map (``经度（高德）``). Strong
evidence against the choice refuses the import until the user confirms the datum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj

from ..crs import DATUM_LABELS, DATUM_WORDS, to_wgs84
from ..io.cells import norm_key

#: Formats whose coordinates carry their CRS (the reader converts them to the store's CRS).
DECLARING_SUFFIXES = (".geojson", ".json", ".zip", ".shp", ".gpkg")
#: Formats that say WGS84 but that Chinese phone apps (奥维, 两步路, 高德) write in GCJ-02.
PHONE_SUFFIXES = (".kml", ".kmz", ".gpx")

#: A stored site repeated by the ledger "sits on its stored place" within this many metres.
SAME_PLACE_M = 30.0
#: ... and is "off" beyond this: GCJ-02 here is ~580 m, BD-09 ~1 km from WGS84.
OFF_M = 300.0

_GEOD = pyproj.Geod(ellps="WGS84")
_SAME = {"cgcs2000": "wgs84"}


def same_datum(a: str | None, b: str | None) -> bool:
    """Whether two datum codes give the same coordinates (CGCS2000 and WGS84 are within a metre)."""
    return a is not None and b is not None and _SAME.get(a, a) == _SAME.get(b, b)


def declared_by_file(source: str, has_geometry: bool) -> str | None:
    """The datum a file declares by its format (``"wgs84"`` for GIS files, converted on read), else ``None``."""
    name = (source or "").lower()
    if has_geometry and name.endswith(DECLARING_SUFFIXES):
        return "wgs84"
    return None


@dataclass(frozen=True)
class Evidence:
    """What the data say about their datum: the datum they point to, in words, and how strongly."""

    datum: str
    zh: str
    en: str
    strong: bool


def header_evidence(headers, notes=()) -> Evidence | None:
    """A datum named in the headers or title lines (``经度（高德）``, ``坐标系：GCJ-02``, ``百度坐标``)."""
    text = " ".join(norm_key(h) for h in [*headers, *notes] if h is not None)
    for datum in ("gcj02", "bd09", "cgcs2000", "wgs84"):
        words = [w for w in DATUM_WORDS[datum] if len(w) >= 2 and not w.isdigit()]
        hit = next((w for w in words if w in text), None)
        if hit:
            return Evidence(datum, f"表头或标题写明“{hit}”（{DATUM_LABELS[datum]}）",
                            f"the headers or title name {hit!r} ({datum})", strong=False)
    return None


def stored_evidence(x, y, stored_xy, datum: str) -> Evidence | None:
    """Points of stored sites the ledger repeats: where they sit under ``datum`` and under the others.

    Parameters
    ----------
    x, y : the ledger's coordinates as typed, for the rows that repeat a stored site with a point.
    stored_xy : ``(lon, lat)`` of those stored sites (WGS84).
    datum : the datum chosen (or assumed) for the ledger.

    Returns
    -------
    Evidence for another datum when at least half of the repeated sites are more than :data:`OFF_M`
    off under ``datum`` and within :data:`SAME_PLACE_M` of their stored place under it; else ``None``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    sx, sy = (np.asarray(v, float) for v in stored_xy)
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(sx) & np.isfinite(sy)
    if not ok.any():
        return None
    x, y, sx, sy = x[ok], y[ok], sx[ok], sy[ok]

    def off(d: str) -> np.ndarray:
        wx, wy = to_wgs84(x, y, d)
        return _GEOD.inv(wx, wy, sx, sy)[2]

    chosen = off(datum)
    n = len(chosen)
    for other in ("gcj02", "bd09", "wgs84"):
        if same_datum(other, datum):
            continue
        alt = off(other)
        fits = (chosen > OFF_M) & (alt <= SAME_PLACE_M)
        if fits.sum() * 2 >= n:
            med = float(np.median(chosen[fits]))
            return Evidence(
                other,
                f"台账中 {int(fits.sum())}/{n} 个库中已有点位按所选坐标系相距原位置约 {med:,.0f} 米，"
                f"按 {DATUM_LABELS[other]} 转换后与原位置相距不到 {SAME_PLACE_M:g} 米",
                f"{int(fits.sum())} of {n} stored sites the ledger repeats lie ~{med:,.0f} m from their stored "
                f"place under the chosen datum and within {SAME_PLACE_M:g} m of it read as {other}",
                strong=True)
    return None


def township_evidence(explained: dict[str, int], mismatched: int) -> Evidence | None:
    """Ledger townships that the points match only when read in another datum (counts per datum)."""
    if not explained:
        return None
    best = max(explained, key=explained.get)
    if explained[best] * 2 < mismatched:
        return None
    n = explained[best]
    return Evidence(best, f"{n} 个点位按 {DATUM_LABELS[best]} 转换后才与台账所填乡镇一致，坐标很可能抄自手机地图",
                    f"{n} point(s) match the ledger's township only when read as {best}: the coordinates were "
                    f"probably copied from a phone map", strong=n >= 2)


CHOICES_ZH = "WGS84/CGCS2000（GPS、官方数据）、GCJ-02（高德、腾讯地图、手机地图抄录）或 BD-09（百度地图）"
CHOICES_EN = "WGS84/CGCS2000 (GPS, official data), GCJ-02 (Amap, Tencent, copied from a phone map) or BD-09 (Baidu)"


def not_stated(source: str, found: Evidence | None) -> tuple[str, str]:
    """The refusal of a table whose datum nobody stated (with what the data suggest, if anything)."""
    phone = (source or "").lower().endswith(PHONE_SUFFIXES)
    why_zh = "KML/GPX 文件虽标称 WGS84，但奥维、两步路等国内软件常以 GCJ-02 记录；" if phone else ""
    why_en = "KML/GPX files say WGS84 but Chinese apps often write GCJ-02; " if phone else ""
    hint_zh = f"；检测提示：{found.zh}，建议选择 {found.datum}" if found else ""
    hint_en = f"; the data suggest {found.datum}: {found.en}" if found else ""
    return (f"未指定坐标系，未写入任何数据：{why_zh}坐标系相差约 580 米，请选择 {CHOICES_ZH}"
            f"（页面“坐标系”，命令行 --crs）{hint_zh}",
            f"no datum stated, nothing written: {why_en}datums differ by ~580 m here; choose {CHOICES_EN} "
            f"(the page's datum choice, --crs){hint_en}")


def contradicted(chosen: str, found: Evidence) -> tuple[str, str]:
    """The refusal of an import whose chosen datum the data contradict, until the user confirms it."""
    return (f"所选坐标系 {DATUM_LABELS[chosen]} 与数据不符：{found.zh}。未写入任何数据；请改选 "
            f"{DATUM_LABELS[found.datum]}（--crs {found.datum}），或确认坐标系无误后勾选“确认坐标系”"
            f"（--confirm-datum）再导入",
            f"the chosen datum {chosen} is contradicted by the data: {found.en}. Nothing written: choose "
            f"{found.datum} (--crs {found.datum}), or confirm the datum (--confirm-datum) and import again")
